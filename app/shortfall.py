"""How a text says something falls short: one word list for the question and the report.

A question using one of these words asks about a report's problems section ("哪些镇执法力量薄弱"),
the word is not part of its topic, and a report's sentence using one states the shortfall
("执法力量仍然薄弱"), so it ranks first among the problems sentences on the topic.
"""

from __future__ import annotations

_SHORTFALL_TEXT = """
    不足 不高 不够 不强 不严 不佳 不力 不到位 不健全 不完善 不规范 跟不上 没跟上
    薄弱 欠缺 缺少 缺乏 短板 差距 有待 淡薄 滞后 偏低 较低 偏弱 较弱 问题
"""
SHORTFALL_WORDS = tuple(_SHORTFALL_TEXT.split())
# only an asker's: a report's 困难群众 or 反思 is not a shortfall it states
ASKED_ONLY = ("困难", "检讨", "反思")
# only a report's: what it says still has to be done
STATED_ONLY = ("还需", "亟需")
