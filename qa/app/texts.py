"""The page's own words, in Chinese and English: one table, :data:`MESSAGES`.

The page's static labels reach the browser through Gradio's i18n (``gr.I18n(**MESSAGES)``,
the browser's language picks them); what the server writes at event time (answers,
notices, upload statuses) is looked up with :func:`qa.app.language.say` in the request's
language. Gradio's own strings are in :mod:`qa.app.gradio_texts`.
"""

from __future__ import annotations

from qa.app.core import PAGE_PROBLEM_WORDS

LANGUAGES = ("zh", "en")
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "lang_code": "en",
        "tab_title": "qa · ask your documents",
        "title": "qa — ask your documents",
        "intro": (
            "Ask a question about the documents of the selected index. The answer comes "
            "first, with its source; below it, the passages it was found in. "
            "“Show in document” opens a passage among the paragraphs around it."
        ),
        "chat": "Chat",
        "question": "Question",
        "question_placeholder": "Ask a question about the documents of this index",
        "send": "Send",
        "examples": "Example questions for this index",
        "settings": "Search settings",
        "k": "Passages (k)",
        "mode": "Search mode",
        "index": "Index",
        "index_summary": "Index summary",
        "documents": "Documents in this index",
        "add_documents": "Add documents",
        "upload_files": "Files: .txt, .md, .pdf, .docx, .html or page images",
        "upload_target": "Into the index named",
        "add": "Add to index",
        "upload_status": "Upload status",
        "viewer_title": "Source",
        "close_viewer": "Close",
        "mode_hybrid": "hybrid",
        "mode_dense": "dense",
        "mode_keyword": "keyword",
        "column_document": "document",
        "column_passages": "passages",
        "column_date": "date",
        "colon": ": ",
        "found": "Found",
        "found_text": (
            "the answer is marked in yellow, with its source; underlined sentences in the "
            "other passages are close to the question"
        ),
        "not_found": "Not found",
        "not_found_text": (
            "nothing in this index answers that well enough. The closest passages are listed "
            "below, the sentence closest to the question underlined."
        ),
        "no_judgement": "No judgement",
        "no_judgement_text": (
            "this index's encoder has no calibration, so whether this answers is not judged; "
            "the best match is marked in yellow"
        ),
        "confidence": " · confidence {value}",
        "answer": "Answer",
        "no_hits": "No passage of this index matches the question (or the index is empty).",
        "score": "Ranking score",
        "score_explained": (
            "{score}: how well this passage matched, among the passages of this search "
            "(1 is the best match). It only orders the passages; whether they answer is "
            "the verdict above."
        ),
        "page": "p. {page}",
        "time": "Time",
        "time_dated": " (the document is dated {date})",
        "time_other_period": "; the closest passage speaks of another period",
        "show_source": "Show in document",
        "shortened": "… ({count:,} characters)",
        "now_asking": (
            "Now asking the index {name} ({documents}). The answers above came from {previous}."
        ),
        "type_first": "Type a question first.",
        "cannot_search": "Cannot search: {error}.",
        "search_failed": "Search failed (see the log).",
        "viewer_more_before": "{count} earlier passages not shown",
        "viewer_more_after": "{count} later passages not shown",
        "viewer_page": "Page {page} of {pages}",
        "viewer_page_unmarked": "the passage could not be located on this page",
        "viewer_gone": (
            "This passage is no longer in the index (the document was changed): ask again."
        ),
        "viewer_failed": "Cannot show the source: {error}.",
        "viewer_file_gone": "{name} is no longer where it was indexed: its page cannot be shown.",
        "viewer_file_changed": "{name} changed since it was indexed: its page is not shown.",
        "passage_count": "{count} passage",
        "passages_count": "{count} passages",
        "document_count": "{count} document",
        "documents_count": "{count} documents",
        "index_info": "**{name}**: {passages} from {documents}{note}",
        "read_only": " · read-only",
        "milvus_store": " · Milvus store",
        "target_new": "{name} is a new name: adding creates the index {name}.",
        "target_existing": (
            "Adds to the index {name} ({documents}); a file of the same name is replaced."
        ),
        "target_read_only": "{name} is read-only: type another name to create an index.",
        "created_index": "New index {name} created; the chat now asks it.",
        "switched_index": "The chat now asks the index {name}.",
        "added": "Added {name} ({passages})",
        "replaced": "Replaced {name} ({passages})",
        "unchanged": "{name} is already in this index, unchanged",
        "skipped": "Skipped {problem}",
        "nothing_to_add": "Nothing to add.",
        "upload_failed": "The upload failed (see the log).",
        "step_reading": "Reading {name} ({done} of {total})",
        "step_encoder": "Loading the encoder (the first upload takes longer)",
        "step_embedding": "Embedding passages and sentences: {done} of {total}",
        "step_saving": "Saving the index",
        "file_unsupported": "{name}: unsupported file type {suffix}; supported: {supported}",
        "file_unreadable": "{name}: cannot read the upload ({error})",
        "file_empty": "{name}: the file is empty (0 bytes)",
        "file_too_large": "{name}: too large ({size:,} bytes; the limit is {limit:,})",
        "file_same_name": "{name}: another file in this upload has the same name",
        "file_changed": "{name}: changed while being read",
        "file_binary": "{name}: looks like a binary file, not text",
        "file_encoding": "{name}: not UTF-8 or GB18030 text",
        "file_no_text": "{name}: no text found",
        "file_damaged": "{name}: damaged or not a readable file of its type",
        "file_encrypted": "{name}: the PDF is encrypted with a password",
        "file_duplicate": "{name}: the same content as a file already in this index",
        # The library's own words (qa.pages), so that the CLI and the page say the same.
        **{
            f"page_{kind}": f"{{name}}: page {{page}}: {words}"
            for kind, words in PAGE_PROBLEM_WORDS.items()
        },
        "page_detail": " ({detail})",
        "error_not_text": "the question must be text",
        "error_empty": "the question is empty",
        "error_too_long": "the question is too long (the limit is {limit} characters)",
        "error_no_words": "the question has no words in it (only punctuation or symbols)",
        "error_mode": "unknown search mode",
        "error_k": "the number of passages must be a whole number from 1 to {max_k}",
        "error_no_such_index": "there is no index of that name",
        "error_no_name": "give the index a name first",
        "error_read_only": (
            "this index is read-only (the bundled report or an index outside the index "
            "folder); upload into another index name"
        ),
        "error_no_files": "choose one or more files to upload first",
        "error_too_many_files": "too many files at once; the limit is {max_files}",
        "error_index_name": (
            "not a valid index name: use letters, digits, '-' and '_' (at most 64, starting "
            "with a letter or digit)"
        ),
        "error_not_an_index": (
            "a folder of that name exists and is not a qa index; choose another name"
        ),
    },
    "zh": {
        "lang_code": "zh",
        "tab_title": "qa · 向文档提问",
        "title": "qa — 向文档提问",
        "intro": (
            "就所选索引中的文档提问：先给出答案及其出处，下面列出答案所在的段落。"
            "点击“在原文中查看”，可在原文的上下文中查看该段落。"
        ),
        "chat": "对话",
        "question": "问题",
        "question_placeholder": "就本索引中的文档提问",
        "send": "发送",
        "examples": "本索引的示例问题",
        "settings": "检索设置",
        "k": "段落数（k）",
        "mode": "检索方式",
        "index": "索引",
        "index_summary": "索引概况",
        "documents": "本索引中的文档",
        "add_documents": "添加文档",
        "upload_files": "文件：.txt、.md、.pdf、.docx、.html 或页面图片",
        "upload_target": "加入的索引名称",
        "add": "加入索引",
        "upload_status": "上传状态",
        "viewer_title": "原文",
        "close_viewer": "关闭",
        "mode_hybrid": "混合",
        "mode_dense": "语义",
        "mode_keyword": "关键词",
        "column_document": "文档",
        "column_passages": "段落数",
        "column_date": "日期",
        "colon": "：",
        "found": "找到答案",
        "found_text": "答案以黄色标出，并注明出处；其他段落中加下划线的句子与问题相近",
        "not_found": "未找到可靠的答案",
        "not_found_text": (
            "本索引中没有足够好地回答该问题的内容。下面列出最接近的段落，与问题最相近的句子加了下划线。"
        ),
        "no_judgement": "无法判断",
        "no_judgement_text": (
            "本索引的编码器没有校准数据，因此不判断是否找到答案；最匹配的句子以黄色标出"
        ),
        "confidence": " · 置信度{value}",
        "answer": "答案",
        "no_hits": "本索引中没有与问题匹配的段落（或索引为空）。",
        "score": "排序得分",
        "score_explained": (
            "{score}：本段在这次检索的段落中的匹配程度（最高为 1）。它只用于排序；"
            "是否找到答案，以上方的判断为准。"
        ),
        "page": "第{page}页",
        "time": "时间",
        "time_dated": "（文档日期 {date}）",
        "time_other_period": "；最接近的段落说的是另一个时期",
        "show_source": "在原文中查看",
        "shortened": "…（共 {count:,} 个字符）",
        "now_asking": "现在提问的索引：{name}（{documents}）。上面的回答来自索引 {previous}。",
        "type_first": "请先输入问题。",
        "cannot_search": "无法检索：{error}。",
        "search_failed": "检索失败（详见日志）。",
        "viewer_more_before": "前面还有 {count} 段未显示",
        "viewer_more_after": "后面还有 {count} 段未显示",
        "viewer_page": "第 {page} 页，共 {pages} 页",
        "viewer_page_unmarked": "未能在本页定位该段落",
        "viewer_gone": "该段落已不在索引中（文档已更改）：请重新提问。",
        "viewer_failed": "无法显示原文：{error}。",
        "viewer_file_gone": "{name} 已不在建立索引时的位置，无法显示其页面。",
        "viewer_file_changed": "{name} 在建立索引后已被修改，不显示其页面。",
        "passage_count": "{count} 段",
        "passages_count": "{count} 段",
        "document_count": "{count} 个文档",
        "documents_count": "{count} 个文档",
        "index_info": "**{name}**：{documents}，共 {passages}{note}",
        "read_only": " · 只读",
        "milvus_store": " · Milvus 存储",
        "target_new": "“{name}”是新名称：加入时将新建索引 {name}。",
        "target_existing": "将加入已有索引 {name}（{documents}）；同名文件会被替换。",
        "target_read_only": "{name} 为只读索引：请输入另一个名称以新建索引。",
        "created_index": "已新建索引 {name}，对话现在在其中检索。",
        "switched_index": "对话现在在索引 {name} 中检索。",
        "added": "已加入 {name}（{passages}）",
        "replaced": "已替换 {name}（{passages}）",
        "unchanged": "{name} 已在本索引中，未改变",
        "skipped": "已跳过 {problem}",
        "nothing_to_add": "没有可加入的内容。",
        "upload_failed": "上传失败（详见日志）。",
        "step_reading": "正在读取 {name}（第 {done} 个，共 {total} 个）",
        "step_encoder": "正在加载编码模型（首次上传需要较长时间）",
        "step_embedding": "正在编码段落和句子：{done} / {total}",
        "step_saving": "正在保存索引",
        "file_unsupported": "{name}：不支持的文件类型 {suffix}；支持：{supported}",
        "file_unreadable": "{name}：无法读取上传的文件",
        "file_empty": "{name}：文件为空（0 字节）",
        "file_too_large": "{name}：文件过大（{size:,} 字节；上限为 {limit:,}）",
        "file_same_name": "{name}：本次上传中有另一个同名文件",
        "file_changed": "{name}：读取过程中文件被修改",
        "file_binary": "{name}：看起来是二进制文件，不是文本",
        "file_encoding": "{name}：不是 UTF-8 或 GB18030 编码的文本",
        "file_no_text": "{name}：未找到文字",
        "file_damaged": "{name}：文件已损坏或无法按其类型读取",
        "file_encrypted": "{name}：该 PDF 已用密码加密",
        "file_duplicate": "{name}：与本索引中已有的文件内容相同",
        "page_no_text": "{name}：第{page}页没有读出文字（OCR 未识别到文字）",
        "page_render": "{name}：第{page}页无法渲染以进行 OCR",
        "page_unreadable": "{name}：第{page}页无法读取",
        "page_detail": "（{detail}）",
        "error_not_text": "问题必须是文本",
        "error_empty": "问题为空",
        "error_too_long": "问题太长（上限为 {limit} 个字符）",
        "error_no_words": "问题中没有文字（只有标点或符号）",
        "error_mode": "未知的检索方式",
        "error_k": "段落数必须是 1 到 {max_k} 之间的整数",
        "error_no_such_index": "没有这个名称的索引",
        "error_no_name": "请先为索引命名",
        "error_read_only": "该索引为只读（内置报告或索引目录之外的索引）；请上传到另一个索引名",
        "error_no_files": "请先选择一个或多个要上传的文件",
        "error_too_many_files": "一次上传的文件过多；上限为 {max_files} 个",
        "error_index_name": (
            "索引名无效：只能使用字母、数字、“-”和“_”（最多 64 个字符，以字母或数字开头）"
        ),
        "error_not_an_index": "已有同名文件夹且不是 qa 索引；请换一个名称",
    },
}
NOT_FOUND = MESSAGES["en"]["not_found"]

# The bundled report's example questions, written for it (other indexes get theirs from
# their headings: qa.examples). The English page asks in English.
BUNDLED_EXAMPLES = {
    "zh": [
        "2020年乐平市的地区生产总值是多少？",
        "2021年规模以上工业增加值预期增长多少？",
        "什么是三讲一评？",
        "如何改善医院条件？",
        "乡下婚礼和丧事铺张浪费怎么办？",
    ],
    "en": [
        "What was Leping's GDP in 2020?",
        "How many nucleic acid tests were done?",
        "How much did fiscal revenue grow in 2020?",
        "How will hospital conditions be improved?",
    ],
}
