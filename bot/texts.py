"""Everything the bot says to people, in English and Chinese (简体中文), in one place.

The language follows the user's Slack locale (``zh-*`` → Chinese) when known, else the
configured default. Keys are stable identifiers; each entry is a ``str.format`` template, and a
test checks that both languages take the same placeholders.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

TEXTS: dict[str, dict[Lang, str]] = {
    "help": {
        "en": "Hi! Mention me with a question and I will answer in a thread; reply in the thread "
        "to continue the conversation. Use `/glm-agent` to see or switch the assistant.",
        "zh": "你好！@我并提问，我会在消息串里回答；在消息串里回复即可继续对话。"
        "用 `/glm-agent` 查看或切换智能体。",
    },
    "too_long": {
        "en": ":warning: That message is {length:,} characters long; the limit is {limit:,}. "
        "Please shorten it or split it into several messages.",
        "zh": ":warning: 这条消息有 {length:,} 个字符，上限是 {limit:,}。请缩短或分成几条发送。",
    },
    "rate_limited": {
        "en": ":hourglass: You have asked {count} questions recently; please try again in about "
        "{minutes} {unit}.",
        "zh": ":hourglass: 你最近已经问了 {count} 个问题，请大约 {minutes} {unit}后再试。",
    },
    "minute": {"en": "minute", "zh": "分钟"},
    "minutes": {"en": "minutes", "zh": "分钟"},
    "not_allowed": {
        "en": ":lock: Sorry, this bot is not enabled for you here.",
        "zh": ":lock: 抱歉，你在这里无法使用这个机器人。",
    },
    "restarting": {
        "en": ":zzz: I am restarting; please send that again in a minute.",
        "zh": ":zzz: 我正在重启，请一分钟后再发一次。",
    },
    "database_down": {
        "en": ":warning: I can't reach my database right now, so I can't answer safely. "
        "Please try again in a minute.",
        "zh": ":warning: 我暂时连不上数据库，无法可靠地回答。请一分钟后再试。",
    },
    "new_conversation": {
        "en": "_The previous conversation could not be continued, so I started a new one._",
        "zh": "_之前的对话无法继续，已为你开始新的对话。_",
    },
    "interrupted": {
        "en": ":octagonal_sign: _This answer was interrupted because the bot restarted. "
        "Press Retry to ask again._",
        "zh": ":octagonal_sign: _机器人重启，回答被中断了。点击「重试」重新提问。_",
    },
    "stopped_by": {
        "en": ":black_square_for_stop: _Stopped by <@{user}>._",
        "zh": ":black_square_for_stop: _已被 <@{user}> 停止。_",
    },
    "internal_error": {
        "en": ":warning: Something went wrong on the bot's side (ref `{ref}`).",
        "zh": ":warning: 机器人内部出错了（编号 `{ref}`）。",
    },
    "empty_answer": {
        "en": "_The assistant finished without writing anything._",
        "zh": "_智能体没有写出任何内容。_",
    },
    "status_thinking": {"en": "is thinking…", "zh": "正在思考…"},
    "status_queued": {"en": "is waiting for a free slot…", "zh": "正在排队…"},
    "status_thread_busy": {
        "en": "is waiting for the previous answer…",
        "zh": "正在等待上一个回答…",
    },
    "reasoning": {"en": "Reasoning…", "zh": "推理中…"},
    # What a tool call is doing, shown while the answer streams (bot/streaming/tools.py).
    "tool_search": {"en": "Searching the web: {query}", "zh": "正在搜索网页：{query}"},
    "tool_click": {"en": "Reading a search result…", "zh": "正在阅读搜索结果…"},
    "tool_quote": {"en": "Quoting sources…", "zh": "正在引用来源…"},
    "tool_browse": {"en": "Browsing the web…", "zh": "正在浏览网页…"},
    "tool_drawing": {"en": "Drawing: {prompt}", "zh": "正在画图：{prompt}"},
    "tool_code": {"en": "Running code…", "zh": "正在运行代码…"},
    "tool_retrieval": {"en": "Looking through documents…", "zh": "正在查阅文档…"},
    "tool_function": {"en": "Using {name}…", "zh": "正在使用 {name}…"},
    "tool_function_unnamed": {"en": "Using a tool…", "zh": "正在使用工具…"},
    "button_stop": {"en": "Stop", "zh": "停止"},
    "button_retry": {"en": "Retry", "zh": "重试"},
    "sources": {"en": "Sources", "zh": "来源"},
    "glm_error": {"en": "GLM error {code}: {summary}", "zh": "GLM 错误 {code}：{summary}"},
    "glm_error_nocode": {"en": "GLM error: {summary}", "zh": "GLM 错误：{summary}"},
    "glm.GLMError": {"en": "the assistant could not answer", "zh": "智能体无法回答"},
    "glm.GLMAuthError": {
        "en": "the bot's BigModel API key was rejected; a workspace admin must fix ZHIPUAI_API_KEY",
        "zh": "机器人的 BigModel API key 被拒绝，需要管理员修正 ZHIPUAI_API_KEY",
    },
    "glm.GLMRateLimited": {
        "en": "too many requests right now, please try again in a moment",
        "zh": "当前请求过多，请稍后再试",
    },
    "glm.GLMQuotaError": {
        "en": "the BigModel account has no balance or has hit its usage limit; "
        "an admin must top it up",
        "zh": "BigModel 账户余额不足或已达用量上限，需要管理员充值",
    },
    "glm.GLMContentFiltered": {
        "en": "the request or answer was blocked by the content filter",
        "zh": "请求或回答被内容安全策略拦截",
    },
    "glm.GLMPromptTooLong": {
        "en": "this conversation is too long for the model; shorten the message or start a new "
        "thread",
        "zh": "对话太长，超出模型上限；请缩短消息或开启新的消息串",
    },
    "glm.GLMBadRequest": {"en": "the request was rejected as invalid", "zh": "请求无效，被拒绝"},
    "glm.GLMServerError": {
        "en": "the GLM service had an internal error, please try again",
        "zh": "GLM 服务内部错误，请重试",
    },
    "glm.GLMConnectionError": {
        "en": "could not reach the GLM service, please try again",
        "zh": "无法连接 GLM 服务，请重试",
    },
    "glm.GLMTimeout": {
        "en": "the assistant stopped responding (timed out)",
        "zh": "智能体没有响应（超时）",
    },
    "glm.GLMStreamInterrupted": {
        "en": "the answer was cut off by a network error, please try again",
        "zh": "回答因网络错误中断，请重试",
    },
    "glm.GLMProtocolError": {
        "en": "the GLM service sent a response the bot could not read",
        "zh": "GLM 服务返回了无法解析的响应",
    },
}


def t(key: str, lang: Lang = "en", /, **values: object) -> str:
    entry = TEXTS[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**values) if values else template


def lang_from_locale(locale: str | None, default: Lang = "en") -> Lang:
    """Slack locales look like ``zh-CN``, ``zh-TW``, ``en-US``, ``ja-JP``."""
    if not locale:
        return default
    prefix = locale.lower().split("-", 1)[0]
    if prefix == "zh":
        return "zh"
    if prefix == "en":
        return "en"
    return default
