package tokenizer

// The templates as Jinja, for tokenizer_config.json. chatml, qwen2.5 and
// llama3 are the published templates without the tool branches; the BOS
// tokens are literals so that they render whatever bos_token is set to.
// deepseek-r1 differs from the published one only where documented at
// deepseekR1: reasoning is kept in assistant turns after the last user
// message. The tests render them with the reference Jinja engine
// (transformers.js) and compare with Format.
const (
	jinjaChatML = `{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

	jinjaQwen25 = `{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}{%- for message in messages %}{%- if not (message['role'] == 'system' and loop.first) %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

	jinjaLlama3 = `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = '<|begin_of_text|>' + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}`

	jinjaDeepSeekR1 = `{%- set ns = namespace(system='', last_user=-1) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- set ns.system = message['content'] %}{%- elif message['role'] == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}{%- endfor %}{{- '<｜begin▁of▁sentence｜>' + ns.system }}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '<｜User｜>' + message['content'] }}{%- elif message['role'] == 'assistant' %}{%- set content = message['content'] %}{%- if loop.index0 < ns.last_user and '</think>' in content %}{%- set parts = content.split('</think>') %}{%- set content = parts[-1] %}{%- endif %}{{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<｜Assistant｜><think>\n' }}{%- endif %}`

	// The training variants render the same text and mark with
	// {% generation %} what Render trains on (each assistant turn's content
	// and the token ending it), for TRL's assistant_only_loss.
	jinjaChatMLTraining = `{%- for message in messages %}{%- if message['role'] == 'assistant' %}{{- '<|im_start|>assistant\n' }}{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}{{- '\n' }}{%- else %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

	jinjaQwen25Training = `{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}{%- for message in messages %}{%- if message['role'] == 'assistant' %}{{- '<|im_start|>assistant\n' }}{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}{{- '\n' }}{%- elif not (message['role'] == 'system' and loop.first) %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

	jinjaLlama3Training = `{% set loop_messages = messages %}{% for message in loop_messages %}{% if loop.index0 == 0 %}{{ '<|begin_of_text|>' }}{% endif %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}{% else %}{{ message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}`

	jinjaDeepSeekR1Training = `{%- set ns = namespace(system='', last_user=-1) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- set ns.system = message['content'] %}{%- elif message['role'] == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}{%- endfor %}{{- '<｜begin▁of▁sentence｜>' + ns.system }}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '<｜User｜>' + message['content'] }}{%- elif message['role'] == 'assistant' %}{%- set content = message['content'] %}{%- if loop.index0 < ns.last_user and '</think>' in content %}{%- set parts = content.split('</think>') %}{%- set content = parts[-1] %}{%- endif %}{{- '<｜Assistant｜>' }}{%- generation %}{{- content + '<｜end▁of▁sentence｜>' }}{%- endgeneration %}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<｜Assistant｜><think>\n' }}{%- endif %}`
)
