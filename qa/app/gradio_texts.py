"""Gradio's own words on the page, in the page's language.

Gradio translates its components' strings through its i18n (svelte-i18n), but its
Chinese table lacks some that this page shows (the chat's copy button, the screen-reader
text of a finished event): :data:`GRADIO_MESSAGES` adds them, passed along with the app's
own in ``gr.I18n``. Other strings are written into Gradio's components in English with no
i18n key at all (accessibility labels such as "chatbot conversation", "user's message:",
"Reset to default value"): :data:`GRADIO_LABELS` gives their Chinese, and the page's script
(:data:`qa.app.assets.PAGE_JS`) puts it in place. Both were read from Gradio 6's frontend.
"""

from __future__ import annotations

# Keys of Gradio's i18n that its zh-CN table lacks ("common.complete" is missing from its
# English one too: the screen-reader text said "common.complete").
GRADIO_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "common.complete": "Complete",
    },
    "zh": {
        "common.complete": "完成",
        "common.progress": "进度",
        "common.upload": "上传",
        "chatbot.copy_message": "复制消息",
        "chatbot.copied_message": "已复制消息",
        "chatbot.complete": "完成",
        "chatbot.chatbot": "对话",
        "chatbot.conversation": "对话",
        "status.queue_position": "排队中：第 {position} 位，共 {size} 位",
    },
}

# Gradio's accessibility labels and tooltips without an i18n key: exact English text, or
# a prefix (ending in a space) followed by a component's label, and their Chinese.
GRADIO_LABELS: dict[str, str] = {
    "chatbot conversation": "对话记录",
    "Scroll down": "滚动到底部",
    "Reset to default value": "恢复默认值",
    "Table actions": "表格操作",
    "Open cell menu": "打开单元格菜单",
    "Click to upload or drop files": "点击上传或拖放文件",
    "File upload": "上传文件",
    "Gradio footer navigation": "页脚导航",
    "Copy table data": "复制表格数据",
    "Copied to clipboard": "已复制到剪贴板",
    "Fullscreen": "全屏",
    "Exit fullscreen mode": "退出全屏",
    "Clear": "清除",
    "number input for ": "数值输入：",
    "range slider for ": "滑块：",
}
# The prefixes Gradio puts before a chat message's text in its accessibility label, and
# what the page says instead, per language ("bot's message:" was followed by the answer's
# HTML source).
MESSAGE_LABELS: dict[str, dict[str, str]] = {
    "en": {"user's message: ": "Question: ", "bot's message: ": "Answer: "},
    "zh": {"user's message: ": "问题：", "bot's message: ": "回答："},
}
