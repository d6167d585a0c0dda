#!/usr/bin/env python3
"""Writes Tests/JinjaTests/Golden/jinja2-goldens.json: what Python Jinja2 renders for each template and context.

The environment is the one Hugging Face transformers and Modalities' apply_chat_template build:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with a `tojson` that keeps non-ASCII text,
and `raise_exception` (transformers also enables the loopcontrols extension; so do we).

Run: python3 scripts/jinja-goldens.py   (needs `pip install jinja2==3.1.*`; 3.1.6 made the committed file)
"""
import json
import pathlib
import sys

import jinja2
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/JinjaTests/Golden/jinja2-goldens.json"


def environment():
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


# Real chat templates as their models ship them in tokenizer_config.json.
CHATML_QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA3 = """{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"""

MISTRAL_V01 = """{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"""

MISTRAL_V03 = """{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{%- for message in loop_messages | rejectattr("role", "equalto", "tool") | rejectattr("role", "equalto", "tool_results") | selectattr("tool_calls", "undefined") %}
    {%- if (message["role"] == "user") != (loop.index0 % 2 == 0) %}
        {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\\n\\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

GEMMA = """{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"""

PHI3 = """{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"""

CONVERSATIONS = {
    "plain": [
        {"role": "user", "content": "Hello! How are you?"},
        {"role": "assistant", "content": "  I'm fine, thanks. And you?  "},
        {"role": "user", "content": "Très bien — merci 🙂"},
    ],
    "system": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?\nAnswer in words."},
    ],
    "tools": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "°C"}}}]},
        {"role": "tool", "content": "{\"temp\": 21}"},
        {"role": "tool", "content": "{\"wind\": 3}"},
        {"role": "assistant", "content": "21 °C and calm."},
    ],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

MODALITIES_TEMPLATE = """{{ chat_template_data.system_instruction + '\\n' }}
{% for turn in messages %}
{{ turn.role + ':' }}
{% if turn.role == chat_template_data.assistant_role %}
{{ chat_template_data.special_tokens.b_include_to_loss_token}}
{% else %}
{{ " " }}
{% endif %}
{{ turn.content + '\\n'}}
{% if turn.role == chat_template_data.assistant_role %}
{{ chat_template_data.special_tokens.e_assistant_token}}
{{ chat_template_data.special_tokens.e_include_to_loss_token}}
{% endif %}
{% endfor %}
"""
MODALITIES_DATA = {
    "assistant_role": "Assistant",
    "system_instruction": "You are Mody, a helpful assistant trained by the modalities team. Answer friendly and informatively to the user's messages.",
    "special_tokens": {"b_include_to_loss_token": "^", "e_include_to_loss_token": "$", "e_assistant_token": "°"},
}

# Small templates, one language feature each.
FEATURES = [
    ("lstrip and trim", "  {% if true %}\n  x\n  {% endif %}\nend\n", {}),
    ("minus strips both sides", "a  \n {{- ' b ' -}}  \n c", {}),
    ("minus on blocks", "a  {%- if true %} b {% endif -%}  c", {}),
    ("plus keeps lstrip", "  {%+ if true %}x{% endif +%}\ny", {}),
    ("comments", "{# a comment #}\nline\n  {# indented #}\nnext", {}),
    ("trailing newline dropped", "text\n", {}),
    ("raw", "{% raw %}{{ not evaluated }}{% endraw %}", {}),
    ("loop variables", "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {"xs": ["a", "b", "c"]}),
    ("loop prev next", "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("loop else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("loop filter", "{% for x in xs if x > 1 %}{{ x }}{{ loop.index }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("loop unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": [2, 3]}}),
    ("loop over dict keys", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "y": 2}}),
    ("break continue", "{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {"xs": [1, 2, 3, 4, 5]}),
    ("set scope", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = i %}{{ x }}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(found=false, n=0) %}{% for m in ms %}{% if m.role == 'system' %}{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.found }} {{ ns.n }}", {"ms": [{"role": "user"}, {"role": "system"}]}),
    ("block set", "{% set greeting %}Hello {{ name }}!{% endset %}[{{ greeting | upper }}]", {"name": "Ada"}),
    ("tuple set", "{% set a, b = 1, 'two' %}{{ a }}-{{ b }}", {}),
    ("macro", "{% macro turn(role, text='…') %}<{{ role }}>{{ text }}</{{ role }}>{% endmacro %}{{ turn('user', 'hi') }}{{ turn(role='bot') }}", {}),
    ("if elif else", "{% for n in [0, 1, 2] %}{% if n == 0 %}zero{% elif n == 1 %}one{% else %}many{% endif %} {% endfor %}", {}),
    ("conditional expression", "{{ 'yes' if flag else 'no' }}|{{ 'only' if not flag }}|", {"flag": True}),
    ("and or not", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not none }} {{ [] or {} }} {{ '' and 1 }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1 / 2 }} {{ 6 / 3 }} {{ 1 + 2.5 }} {{ 3 * 'ab' }} {{ 0.1 + 0.2 }} {{ 1e20 * 10 }} {{ 2 ** -1 }} {{ 10 - 2 * 3 }}", {}),
    ("comparison", "{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ 'a' in 'cat' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }}", {}),
    ("concat", "{{ 'n=' ~ 3 ~ none ~ true ~ 1.5 ~ [1] ~ undefined_thing }}", {}),
    ("python repr", "{{ [1, 'a', none, true, 1.5, \"it's\"] }} {{ {'a': 1, 'b': [2]} }} {{ none }} {{ true }} {{ 2.0 }} {{ 1e-7 }}", {}),
    ("subscripts", "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[:-1] }} {{ 'hello'[1:3] }} {{ s[0] }} {{ d['k'] }} {{ d.k }} {{ xs[9] }}|", {"xs": [1, 2, 3], "s": "héllo", "d": {"k": "v"}}),
    ("literals", "{{ [1, 2,] | length }} {{ (1, 2) }} {{ {'a': 'b'}['a'] }} {{ 'a' 'b' }} {{ \"q\\\"uote\" }} {{ 'tab\\there' }} {{ 1_000 }}", {}),
    ("string methods", "{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ ' a'.lstrip() }}|{{ 'a '.rstrip() }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ 'aXbX'.replace('X', '.') }}|{{ 'abc'.find('c') }}|{{ 'banana'.count('a') }}|{{ '-'.join(['a', 'b']) }}|{{ 'l1\\nl2'.splitlines() }}|{{ '12'.isdigit() }}", {}),
    ("dict methods", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", {"d": {"a": 1, "b": 2}}),
    ("filters text", "{{ '  t  ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello-world foo' | title }}|{{ 'hELLO' | capitalize }}|{{ 'a b' | replace(' ', '_') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ '<a & b>' | e }}|{{ 'one two  three' | wordcount }}|{{ 'abc' | reverse }}|{{ 42 | string }}", {}),
    ("filters indent", "[{{ 'a\\nb\\n\\nc' | indent(2) }}] [{{ 'a\\nb' | indent(2, true) }}] [{{ 'a\\n\\nb' | indent('> ', blank=true) }}]", {}),
    ("filters lists", "{{ xs | length }} {{ xs | first }} {{ xs | last }} {{ xs | join(', ') }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ xs | unique | list }} {{ xs | min }} {{ xs | max }} {{ xs | sum }} {{ xs | reverse | list }} {{ 'ab' | list }}", {"xs": [3, 1, 2, 3]}),
    ("filters map select", "{{ ms | map(attribute='role') | join(',') }} {{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | list }} {{ ms | rejectattr('role', 'equalto', 'user') | list | length }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }} {{ ['a', 'b'] | map('upper') | list }} {{ ms | selectattr('x', 'defined') | list }} {{ ms | map(attribute='x', default='-') | list }}", {"ms": [{"role": "user", "c": 1}, {"role": "bot", "c": 2}]}),
    ("filters default", "{{ missing | default('d') }} {{ '' | default('e') }} {{ '' | default('f', true) }} {{ none | d('g') }} {{ none | default('h', boolean=true) }}", {}),
    ("filters numbers", "{{ -3 | abs }} {{ '42' | int }} {{ 'x' | int }} {{ 3.7 | int }} {{ '1.5' | float }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 7 | float }}", {}),
    ("filters mapping", "{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }} {{ d | length }}", {"d": {"b": 2, "a": 3, "c": 1}}),
    ("sort by attribute", "{{ ms | sort(attribute='n') | map(attribute='n') | list }}", {"ms": [{"n": 3}, {"n": 1}, {"n": 2}]}),
    ("tojson", "{{ v | tojson }}\n{{ v | tojson(indent=2) }}\n{{ v | tojson(sort_keys=true) }}\n{{ v | tojson(separators=(',', ':')) }}\n{{ v | tojson(ensure_ascii=true) }}\n{{ 'x\"y\\n' | tojson }}", {"v": {"b": [1, 2.5, None, True], "a": "é°🙂\t", "e": {}, "l": []}}),
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is string }} {{ 3 is number }} {{ 3 is integer }} {{ 3.0 is float }} {{ d is mapping }} {{ x is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'ab' is lower }} {{ x is not none }} {{ true is boolean }} {{ 2 is in [1, 2] }} {{ x is eq 'v' }} {{ 3 is gt 2 }} {{ raise_exception is callable }}", {"x": "v", "n": None, "d": {}}),
    ("filter block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("percent format", "{{ '%s has %d items (%.2f) %%' % ('cart', 3, 1.5) }} {{ '%s!' | format('hi') }}", {}),
    ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("multiline expression", "{{ [\n  1,\n  2\n] | length }}", {}),
    ("unicode lengths", "{{ s | length }} {{ s[1] }} {{ s | reverse }}", {"s": "e\u0301🙂x"}),
]

ERRORS = [
    ("undefined attribute of undefined", "line one\n{{ missing.attribute }}", {}),
    ("raise_exception", "a\n{% if true %}\n{{ raise_exception('Roles must alternate') }}\n{% endif %}", {}),
    ("unknown filter", "{{ 1 | no_such_filter }}", {}),
    ("missing endif", "{% if true %}\nno end", {}),
    ("unexpected end tag", "x\n{% endfor %}", {}),
    ("unclosed expression", "{{ 1 +\n", {}),
    ("add string and int", "{{ 'a' + 1 }}", {}),
    ("append is unsafe", "{% set xs = [] %}{{ xs.append(1) }}", {}),
]


def render(env, template, context):
    try:
        return {"output": env.from_string(template).render(**context)}
    except TemplateSyntaxError as error:
        return {"error": "syntax", "line": error.lineno}
    except TemplateError as error:
        return {"error": type(error).__name__, "message": str(error)}
    except Exception as error:  # TypeError and friends from the template's operations
        return {"error": type(error).__name__}


def main():
    env = environment()
    cases = []
    chat = {"bos_token": "<s>", "eos_token": "</s>"}
    for name, template in [("chatml-qwen2.5", CHATML_QWEN25), ("llama3", LLAMA3), ("mistral-v0.1", MISTRAL_V01),
                           ("mistral-v0.3", MISTRAL_V03), ("gemma", GEMMA), ("phi3", PHI3)]:
        for conversation, messages in CONVERSATIONS.items():
            for add_generation_prompt in (False, True):
                context = dict(chat, messages=messages, add_generation_prompt=add_generation_prompt)
                if conversation == "tools" and name == "chatml-qwen2.5":
                    context["tools"] = TOOLS
                cases.append({"name": f"{name} {conversation} gen={add_generation_prompt}", "template": template,
                              "context": context, **render(env, template, context)})
    # Modalities' apply_chat_template joins the YAML block's lines first: replace("}\n{", "}{").
    messages = [{"role": "User1", "content": "What is up?`"}, {"role": "Assistant", "content": "Hello! How can I help?"},
                {"role": "User2", "content": "Goodbye"}, {"role": "Assistant", "content": "Bye — ✓"}]
    joined = MODALITIES_TEMPLATE.replace("}\n{", "}{")
    context = {"messages": messages, "chat_template_data": MODALITIES_DATA}
    cases.append({"name": "modalities apply_chat_template", "template": joined, "context": context,
                  **render(env, joined, context)})
    for name, template, context in FEATURES + ERRORS:
        cases.append({"name": name, "template": template, "context": context, **render(env, template, context)})
    OUT.write_text(json.dumps({"jinja2_version": jinja2.__version__, "cases": cases}, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
