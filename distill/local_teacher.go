package distill

import (
	"github.com/distill-dev/distill/student/local"
	"github.com/distill-dev/distill/teacher"
)

// A student checkpoint as a teacher (--teacher local:DIR): wired here so
// that the teacher package stays a leaf, as DESIGN.md asks.
func init() {
	localTeacher = func(dir string) (teacher.Teacher, error) { return local.Open(dir) }
}
