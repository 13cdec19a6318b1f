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
    "files_default_question": {
        "en": "Please look at the attached file(s): what do they contain? Summarise them.",
        "zh": "请查看附件：里面有什么内容？请总结一下。",
    },
    "status_reading_files": {"en": "is reading the files…", "zh": "正在读取文件…"},
    "file_unsupported": {
        "en": ":warning: `{name}` was not read: {kind} files are not supported (images: png, "
        "jpg, gif, webp; documents: pdf, doc(x), xls(x), ppt(x), csv, txt, md, json).",
        "zh": ":warning: 未读取 `{name}`：不支持 {kind} 文件"
        "（图片：png、jpg、gif、webp；文档：pdf、doc(x)、xls(x)、ppt(x)、csv、txt、md、json）。",
    },
    "file_too_big": {
        "en": ":warning: `{name}` was not read: it is larger than the {limit} MB limit per file.",
        "zh": ":warning: 未读取 `{name}`：超过每个文件 {limit} MB 的上限。",
    },
    "file_image_too_big": {
        "en": ":warning: `{name}` was not read: images may be at most {limit} MB.",
        "zh": ":warning: 未读取 `{name}`：图片最大 {limit} MB。",
    },
    "file_too_many": {
        "en": ":warning: `{name}` was not read: a conversation may hold at most {limit} files. "
        "Start a new thread for more.",
        "zh": ":warning: 未读取 `{name}`：每个对话最多 {limit} 个文件，请开启新的消息串。",
    },
    "file_not_on_slack": {
        "en": ":warning: `{name}` was not read: it is not stored on Slack.",
        "zh": ":warning: 未读取 `{name}`：该文件不在 Slack 上。",
    },
    "file_needs_scope": {
        "en": ":warning: `{name}` was not read: Slack sent a sign-in page instead of the file. "
        "The app needs the `files:read` scope; a workspace admin must add it and reinstall.",
        "zh": ":warning: 未读取 `{name}`：Slack 返回了登录页面而不是文件。"
        "应用需要 `files:read` 权限，请管理员添加后重新安装。",
    },
    "file_corrupt": {
        "en": ":warning: `{name}` was not read: its content is not a valid {kind} file.",
        "zh": ":warning: 未读取 `{name}`：内容不是有效的 {kind} 文件。",
    },
    "file_download_failed": {
        "en": ":warning: `{name}` was not read: it could not be downloaded from Slack.",
        "zh": ":warning: 未读取 `{name}`：无法从 Slack 下载。",
    },
    "file_upload_failed": {
        "en": ":warning: `{name}` was not read: GLM did not accept the upload ({reason}).",
        "zh": ":warning: 未读取 `{name}`：GLM 未接受上传（{reason}）。",
    },
    "file_purpose_refused": {
        "en": ":warning: `{name}` was not read: GLM refused the file purpose `{purpose}`; "
        "an admin may try `GLM_FILE_PURPOSE=agent`.",
        "zh": ":warning: 未读取 `{name}`：GLM 拒绝了文件用途 `{purpose}`；"
        "管理员可以尝试设置 `GLM_FILE_PURPOSE=agent`。",
    },
    "files_not_reattached": {
        "en": "_Earlier files of this thread are no longer available at GLM; share them again "
        "if you need them._",
        "zh": "_此消息串之前的文件在 GLM 上已不可用，如需使用请重新分享。_",
    },
    "file_published": {"en": "in this thread", "zh": "已上传到此消息串"},
    "file_source": {"en": "source", "zh": "原链接"},
    "status_thinking": {"en": "is thinking…", "zh": "正在思考…"},
    "status_queued": {"en": "is waiting for a free slot…", "zh": "正在排队…"},
    "status_thread_busy": {
        "en": "is waiting for the previous answer…",
        "zh": "正在等待上一个回答…",
    },
    "reasoning": {"en": "Reasoning…", "zh": "推理中…"},
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
