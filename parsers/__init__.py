"""Pure parsing of 政府信息公开工作年度报告: bytes or text in, one record out.

No Scrapy, no network, no database here: everything is importable and testable alone.
Start at `api.parse_bytes`; the table cells come from `tables`, driven by `codebook.yaml`.
"""
