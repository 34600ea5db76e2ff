"""llama-cpp-python's OpenAI-compatible server (python -m llama_cpp.server)
with neutral sampling defaults.

Its requests default to top_k 40, min_p 0.05 and repeat_penalty 1.1, which
the OpenAI API has no fields to turn off and which distill's sampler does
not apply; llama.cpp's own llama-server takes them as flags (--top-k 0
--min-p 0 --repeat-penalty 1), this one does not. So that a distill
evaluation through the server samples from the distribution `distill eval
--model` samples from (temperature and top_p only), this sets those
defaults to their no-op values and runs the server's own main with the
command-line arguments unchanged.
"""

from llama_cpp.server import types

for request in (types.CreateChatCompletionRequest, types.CreateCompletionRequest):
    request.model_fields["top_k"].default = 0
    request.model_fields["min_p"].default = 0.0
    request.model_fields["repeat_penalty"].default = 1.0
    request.model_rebuild(force=True)

from llama_cpp.server.__main__ import main  # noqa: E402  (after the defaults are set)

main()
