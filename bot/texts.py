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
        "en": ":hourglass: You have reached the limit on recent questions ({count}); please try "
        "again in about {minutes} {unit}.",
        "zh": ":hourglass: 你最近已经问了 {count} 个问题，请大约 {minutes} {unit}后再试。",
    },
    "minute": {"en": "minute", "zh": "分钟"},
    "minutes": {"en": "minutes", "zh": "分钟"},
    "not_allowed": {
        "en": ":lock: Sorry, this bot is not enabled for you here.",
        "zh": ":lock: 抱歉，你在这里无法使用这个机器人。",
    },
    "overloaded": {
        "en": ":hourglass: Too many questions are waiting right now; please ask again in a minute.",
        "zh": ":hourglass: 现在排队的问题太多了，请过一分钟再问。",
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
    # What a tool call is doing, shown while the answer streams (bot/reply/tools.py).
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
    "prompts_title": {"en": "Try asking {agent}", "zh": "试试问{agent}"},
    "prompts_title_generic": {"en": "Try asking", "zh": "试试这样问"},
    "prompt_summarise_title": {"en": "Summarise #{channel}", "zh": "总结 #{channel}"},
    "prompt_summarise_message": {
        "en": "Summarise the recent messages in #{channel}",
        "zh": "总结一下 #{channel} 最近的消息",
    },
    "summary_unavailable": {
        "en": ":information_source: I couldn't read #{channel} just now ({reason}), so there is "
        "nothing to summarise yet. Please try again in a minute, or invite me to the channel.",
        "zh": ":information_source: 我暂时读不到 #{channel}（{reason}），所以还没法总结。"
        "请稍后再试，或者把我邀请进这个频道。",
    },
    "feedback_good": {"en": "Good answer", "zh": "回答很好"},
    "feedback_bad": {"en": "Bad answer", "zh": "回答不好"},
    "feedback_thanks_good": {
        "en": ":pray: Thanks for the feedback, glad it helped!",
        "zh": ":pray: 谢谢反馈，很高兴能帮上忙！",
    },
    "feedback_thanks_bad": {
        "en": ":pray: Thanks for telling us; we'll use it to make answers better.",
        "zh": ":pray: 谢谢告诉我们，我们会据此改进回答。",
    },
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
    "glm.GLMConnectTimeout": {
        "en": "could not reach the GLM service, please try again",
        "zh": "无法连接 GLM 服务，请重试",
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
TEXTS.update(
    {
        "stop_not_yours": {
            "en": "Only the person who asked can stop this answer; it will carry on.",
            "zh": "只有提问的人才能停止这个回答；回答会继续。",
        },
        "already_finished": {
            "en": "That answer has already finished; there is nothing left to stop.",
            "zh": "这个回答已经结束了，没有可以停止的内容。",
        },
        "code_run": {"en": "Code run", "zh": "运行的代码"},
        "code_output": {"en": "Output", "zh": "输出"},
        "documents_consulted": {"en": "Documents consulted: {docs}", "zh": "参考的文档：{docs}"},
        "image_generated": {"en": "Generated image", "zh": "生成的图片"},
        "image_chart": {"en": "Chart", "zh": "图表"},
        "image_result": {"en": "Result", "zh": "结果"},
    }
)

# -- /glm-agent ------------------------------------------------------------------------------
# Placeholders: {cmd} the command, {scope} "this DM"/"this channel", {label} an assistant.
AGENT_TEXTS: dict[str, dict[Lang, str]] = {
    "agent.scope_dm": {"en": "this DM", "zh": "这个私信"},
    "agent.scope_channel": {"en": "this channel", "zh": "这个频道"},
    "agent.custom_label": {"en": "a custom agent (`{id}`)", "zh": "自定义智能体 (`{id}`)"},
    "agent.current": {
        "en": "New threads in {scope} use {label}{suffix}.",
        "zh": "{scope}的新消息串使用 {label}{suffix}。",
    },
    "agent.default_suffix": {"en": " (the default)", "zh": "（默认）"},
    "agent.usage": {
        "en": "• `{cmd}` — show the current assistant and a picker\n"
        "• `{cmd} <selector>` — switch; a selector is the list number (`1`–`{count}`), a name "
        "(`drawing`, `AI画图`, `AI画图（官方）`, any case; a unique prefix is enough) or a "
        "24-hex `assistant_id` (custom agents too)\n"
        "• `{cmd} list` — the catalogue\n"
        "• `{cmd} default` — back to the configured default, {default}\n"
        "• `{cmd} help` — this help",
        "zh": "• `{cmd}` — 查看当前智能体并从菜单选择\n"
        "• `{cmd} <选择>` — 切换；可以用编号（`1`–`{count}`）、名称（`drawing`、`AI画图`、"
        "`AI画图（官方）`，不区分大小写，唯一前缀即可）或 24 位十六进制 `assistant_id`"
        "（也支持自定义智能体）\n"
        "• `{cmd} list` — 智能体列表\n"
        "• `{cmd} default` — 恢复为默认的 {default}\n"
        "• `{cmd} help` — 本帮助",
    },
    "agent.picker_fallback": {
        "en": "{current} Pick another with the menu or `{cmd} <number or name>`.",
        "zh": "{current}用菜单或 `{cmd} <编号或名称>` 切换。",
    },
    "agent.picker_placeholder": {"en": "Switch assistant", "zh": "切换智能体"},
    "agent.picker_hint": {
        "en": "Or type `{cmd} 6`, `{cmd} drawing`, `{cmd} default` · `{cmd} help` for all options",
        "zh": "也可以输入 `{cmd} 6`, `{cmd} drawing`, `{cmd} default` · `{cmd} help` 查看全部用法",
    },
    "agent.keep": {
        "en": "Existing threads keep the assistant they started with.",
        "zh": "已经开始的消息串继续使用原来的智能体。",
    },
    "agent.help_intro": {
        "en": "*{cmd}* chooses the GLM assistant that answers *new* threads in {scope}. Threads "
        "already started keep their assistant (their conversation belongs to it).",
        "zh": "*{cmd}* 选择回答{scope}中*新*消息串的 GLM 智能体。"
        "已经开始的消息串继续使用原来的智能体（对话属于它）。",
    },
    "agent.catalogue_heading": {"en": "*Assistants*", "zh": "*智能体*"},
    "agent.switch_hint": {
        "en": "Switch with `{cmd} <number or name>`.",
        "zh": "用 `{cmd} <编号或名称>` 切换。",
    },
    "agent.confirmed": {
        "en": ":white_check_mark: New threads in {scope} will use {label}.",
        "zh": ":white_check_mark: {scope}的新消息串将使用 {label}。",
    },
    "agent.custom_note": {
        "en": "_This id is not one of the official assistants, so it is used as a custom agent; "
        "if GLM does not know it, replies will show an error._",
        "zh": "_这个 id 不是官方智能体，将作为自定义智能体使用；"
        "如果 GLM 不认识它，回答会显示错误。_",
    },
    "agent.reset": {
        "en": ":leftwards_arrow_with_hook: {scope_start} is back to the default: "
        "new threads will use {label}.",
        "zh": ":leftwards_arrow_with_hook: {scope_start}已恢复默认：新消息串将使用 {label}。",
    },
    "agent.ambiguous": {
        "en": ":thinking_face: `{selector}` matches several assistants:",
        "zh": ":thinking_face: `{selector}` 匹配了多个智能体：",
    },
    "agent.ambiguous_tail": {
        "en": "Type more of the name, or use the number.",
        "zh": "请多输入几个字，或使用编号。",
    },
    "agent.unknown_did_you_mean": {
        "en": ":thinking_face: I don't know an assistant called `{selector}`. Did you mean:",
        "zh": ":thinking_face: 没有叫 `{selector}` 的智能体。你是不是要找：",
    },
    "agent.unknown": {
        "en": ":thinking_face: I don't know an assistant called `{selector}`.",
        "zh": ":thinking_face: 没有叫 `{selector}` 的智能体。",
    },
    "agent.nothing_changed_list": {
        "en": "Nothing was changed. `{cmd} list` shows all {count} assistants.",
        "zh": "没有做任何更改。`{cmd} list` 列出全部 {count} 个智能体。",
    },
    "agent.malformed_command": {
        "en": ":warning: That command arrived incomplete, so nothing was changed. "
        "Please try `/glm-agent` again.",
        "zh": ":warning: 这条命令不完整，没有做任何更改。请重新输入 `/glm-agent`。",
    },
    "agent.database_error": {
        "en": ":warning: I could not read or save the assistant setting right now (database "
        "problem). Nothing was changed; please try again in a minute.",
        "zh": ":warning: 暂时无法读取或保存智能体设置（数据库问题）。"
        "没有做任何更改，请一分钟后再试。",
    },
    "agent.not_permitted": {
        "en": ":lock: Only the bot's admins can switch the assistant here. Nothing was changed.",
        "zh": ":lock: 这里只有管理员可以切换智能体。没有做任何更改。",
    },
    "agent.invalid_selection": {
        "en": ":warning: That choice is not a valid assistant. Nothing was changed.",
        "zh": ":warning: 这个选项不是有效的智能体。没有做任何更改。",
    },
}
TEXTS.update(AGENT_TEXTS)


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


# Usage and quotas (issue 16). Numbers arrive formatted (bot/usage/format.py).
USAGE_TEXTS: dict[str, dict[Lang, str]] = {
    "quota_user": {
        "en": ":bar_chart: You have used {used} tokens this month; your monthly limit is "
        "{limit}. It resets on {reset}. I did not send this question to GLM.",
        "zh": ":bar_chart: 你本月已使用 {used} 个 token，每月上限为 {limit}。"
        "额度将于 {reset}重置。这个问题没有发送给 GLM。",
    },
    "quota_workspace": {
        "en": ":bar_chart: This workspace has used {used} tokens this month; its monthly limit "
        "is {limit}. It resets on {reset}. I did not send this question to GLM.",
        "zh": ":bar_chart: 本工作区本月已使用 {used} 个 token，每月上限为 {limit}。"
        "额度将于 {reset}重置。这个问题没有发送给 GLM。",
    },
    # The App Home tab (bot/surface/home.py)
    "home.title": {"en": "Your GLM usage · {month}", "zh": "你的 GLM 用量 · {month}"},
    "home.you": {
        "en": "You have used *{total}* tokens in {month}: {prompt} prompt + {completion} "
        "completion, over {turns} answers.",
        "zh": "你在{month}已使用 *{total}* 个 token：提问 {prompt} + 回答 {completion}，"
        "共 {turns} 次回答。",
    },
    "home.quota": {
        "en": "Your monthly limit is {limit} tokens ({percent}% used); it resets on {reset}.",
        "zh": "你的每月上限是 {limit} 个 token（已用 {percent}%），将于 {reset}重置。",
    },
    "home.no_quota": {
        "en": "There is no monthly limit on your usage.",
        "zh": "你的用量没有每月上限。",
    },
    "home.quota_exempt": {
        "en": "As one of the bot's admins you have no personal monthly limit.",
        "zh": "作为机器人管理员，你没有个人每月上限。",
    },
    "home.workspace_quota": {
        "en": "The workspace's monthly limit is {limit} tokens ({percent}% used); it resets on "
        "{reset}.",
        "zh": "本工作区的每月上限是 {limit} 个 token（已用 {percent}%），将于 {reset}重置。",
    },
    # An org-wide install (Enterprise Grid): the quota and a person's tokens are the org's.
    "home.this_org": {"en": "this org", "zh": "本组织"},
    "home.you_org": {
        "en": "You have used *{total}* tokens in {month} across every workspace of {org}: "
        "{prompt} prompt + {completion} completion, over {turns} answers.",
        "zh": "你在{month}于{org}的所有工作区共使用 *{total}* 个 token：提问 {prompt} + "
        "回答 {completion}，共 {turns} 次回答。",
    },
    "home.org_quota": {
        "en": "The monthly limit for all workspaces of {org} together is {limit} tokens "
        "({percent}% used); it resets on {reset}.",
        "zh": "{org}所有工作区合计的每月上限是 {limit} 个 token（已用 {percent}%），"
        "将于 {reset}重置。",
    },
    "home.assistant": {
        "en": "Your DM with me uses *{agent}*. To switch, type `/glm-agent` in that DM "
        "(`/glm-agent list` shows all {count}); a channel's assistant is switched the same way "
        "in the channel.",
        "zh": "你和我的私信使用 *{agent}*。在私信里输入 `/glm-agent` 即可切换"
        "（`/glm-agent list` 列出全部 {count} 个）；频道的智能体在频道里用同样方式切换。",
    },
    "home.admin_title": {"en": "Workspace · {month}", "zh": "工作区 · {month}"},
    "home.org_title": {"en": "{org} (whole org) · {month}", "zh": "{org}（整个组织）· {month}"},
    "home.org_title_unnamed": {"en": "This org · {month}", "zh": "本组织 · {month}"},
    "home.admin_total": {
        "en": "*{total}* tokens ({prompt} prompt + {completion} completion) over {turns} answers.",
        "zh": "*{total}* 个 token（提问 {prompt} + 回答 {completion}），共 {turns} 次回答。",
    },
    "home.by_assistant": {"en": "*By assistant*", "zh": "*按智能体*"},
    "home.top_channels": {"en": "*Top channels*", "zh": "*用量最多的频道*"},
    "home.line": {
        "en": "• {name} — {total} tokens ({turns} answers)",
        "zh": "• {name} — {total} 个 token（{turns} 次回答）",
    },
    "home.nothing": {"en": "_Nothing yet this month._", "zh": "_本月还没有用量。_"},
    "home.footer": {
        "en": "Tokens as GLM reported them for finished answers; months are calendar months "
        "in UTC.",
        "zh": "数字为 GLM 为已完成回答报告的 token 数；按 UTC 自然月统计。",
    },
}
TEXTS.update(USAGE_TEXTS)
