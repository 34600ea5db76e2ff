package distill

import (
	"path/filepath"

	"github.com/distill-dev/distill/student/local"
	"github.com/distill-dev/distill/teacher"
)

// openLocal opens the student checkpoint in dir as a teacher (--teacher
// local:DIR) and names its model: model when given, else the directory's
// name. The student package provides the teacher, so that the teacher
// package stays a leaf, as DESIGN.md asks.
func openLocal(dir, model string) (teacher.Teacher, string, error) {
	t, err := local.Open(dir)
	if err != nil {
		return nil, "", err
	}
	if model == "" {
		model = filepath.Base(filepath.Clean(dir))
	}
	return t, model, nil
}
