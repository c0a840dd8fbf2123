"""The mail parser over real-world-like messages (tests/fixtures/mail/*.eml, ADR 0057):
mislabelled GB2312, GB18030 quoted-printable, raw 8-bit GBK headers, HTML only, Outlook and
Foxmail replies, RFC 2231 and RFC 2047 file names, auto-replies, bounces, garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.mail.parse import (MalformedMail, decode_bytes, decode_header, html_to_text,
                                 new_text, parse)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_gb2312_labels_are_read_as_gb18030_so_gbk_only_characters_survive():
    m = parse(fixture("gb2312_mislabelled.eml"))
    assert m.sender_name == "王喆"  # 喆 is not in GB2312
    assert m.sender_address == "wangzhe@acme.com"
    assert m.subject == "朱镕的服务器宕机了"  # 镕 neither
    assert m.text.startswith("您好：\n\n机房 3 号机柜的服务器（王喆负责）今天早上宕机")
    assert "\ufffd" not in m.text + m.subject + m.sender_name
    assert m.message_id == "202612070912001234567@acme.com"
    assert m.attachments == ()  # the HTML alternative is not a file
    assert m.received_count == 1
    assert m.ticket_numbers() == ()


def test_gb18030_quoted_printable_with_a_four_byte_character():
    m = parse(fixture("gb18030_qp.eml"))
    assert m.sender_name == "李𠀀"
    assert m.subject == "数据库连接超时"
    assert m.text == "订单库连接超时，报错 ORA-12170。罕用字：𠀀。"


def test_raw_8bit_gbk_headers_and_a_body_without_a_charset():
    m = parse(fixture("raw_8bit_gbk.eml"))
    assert (m.sender_name, m.sender_address) == ("孙七", "sun@example.cn")
    assert m.subject == "打印机卡纸"
    assert m.text == "三楼打印机卡纸，无法打印。"


def test_an_html_only_mail_becomes_readable_text():
    m = parse(fixture("html_only_utf8.eml"))
    assert m.subject == "磁盘告警"
    assert m.text == ("各位好，\n\n监控系统 报警：磁盘使用率 95%\n\n- 主机 db-01\n- 主机 db-02\n\n"
                      "详情见 告警页面 (https://monitor.example.cn/alert/42)。\n\n时间 09:30")
    assert "alert(" not in m.text and "color" not in m.text and "ignored" not in m.text


def test_a_reply_names_its_ticket_and_its_new_words_come_first():
    m = parse(fixture("outlook_reply.eml"))
    assert m.subject == "答复: [SR-20261207-001] 服务器宕机"
    assert m.in_reply_to == "<SR-20261207-001.5f1c@opsledger.localhost>"
    assert m.ticket_numbers() == ("SR-20261207-001",)
    assert new_text(m.text) == "已经重启，现在正常了。"
    assert "-----原始邮件-----" in m.text  # the whole text is still there for who wants it


def test_attachments_with_chinese_names_in_rfc_2231_and_rfc_2047():
    m = parse(fixture("attachments.eml"))
    assert m.subject == "巡检单"
    assert m.text == "见附件。"
    files = {a.filename: a for a in m.attachments}
    assert list(files) == ["巡检单-喆.xls", "维修记录.pdf", "attachment-3.png", "attachment-4.eml"]
    assert files["巡检单-喆.xls"].data == bytes(range(256))
    assert files["巡检单-喆.xls"].content_type == "application/vnd.ms-excel"
    assert files["维修记录.pdf"].data == b"%PDF-1.4 fake but bytes"
    assert files["attachment-3.png"].data == b"\x89PNG\r\n\x1a\nabc"
    inner = files["attachment-4.eml"]
    assert inner.content_type == "message/rfc822"
    assert b"Subject: forwarded" in inner.data and b"inner body" in inner.data


def test_auto_replies_and_bounces_say_so():
    auto = parse(fixture("auto_reply.eml"))
    assert auto.auto_submitted == "auto-replied"
    assert auto.autoreply_headers == ("x-autoreply",)
    bounce = parse(fixture("bounce.eml"))
    assert bounce.bounce
    assert bounce.sender_address == "mailer-daemon@mx.acme.com"


@pytest.mark.parametrize("raw", [b"", b"   \r\n", (FIXTURES / "garbage.eml").read_bytes(),
                                 b"just some words\r\nand more"])
def test_what_is_not_a_mail_is_malformed_never_a_crash(raw):
    with pytest.raises(MalformedMail):
        parse(raw)


def test_broken_parts_are_read_as_well_as_they_can_be():
    raw = (b"From: =?utf-8?B?not base64!?= <a@b.cn>\r\nSubject: =?x-unknown-charset?Q?abc?=\r\n"
           b"Message-ID: <broken@b.cn>\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n5Lit5paH!!!\r\n")
    m = parse(raw)
    assert m.sender_address == "a@b.cn"
    assert "abc" in m.subject
    assert m.text  # something, not an exception


def test_decoding_falls_back_without_raising():
    assert decode_bytes("中文".encode("gbk"), "gb2312") == "中文"
    assert decode_bytes("中文".encode("utf-8"), "no-such") == "中文"
    assert decode_bytes("中文".encode("gb18030")) == "中文"
    assert decode_header("Re: =?GBK?B?sbG45g==?= ok") == "Re: 北告 ok"
    assert decode_header("=?gb2312?B?hrSGtA==?=") == "喆喆"  # GBK bytes under a GB2312 label
    assert decode_header("plain") == "plain"


def test_quoted_text_forms():
    assert new_text("好的\n\nOn Mon, 7 Dec 2026 at 09:00, Desk <d@x> wrote:\n> old") == "好的"
    assert new_text("收到\n\n在 2026年12月7日 09:00，服务台 写道：\n> 旧内容") == "收到"
    assert new_text("thanks\n> quoted\n>more") == "thanks"
    assert new_text("> only quoted") == "> only quoted"  # nothing new: keep it all
    assert html_to_text("<p>a<br>b</p><pre>x  y</pre>") == "a\nb\n\nx  y"
