#!/usr/bin/python3
"""check_dsn.py - is the message on stdin a well-formed RFC 3464 report?

Used by test_bounce.c: parses the message with Python's email package
(policy=email.policy.default) and asserts a multipart/report with
report-type=delivery-status and exactly three parts, text/plain,
message/delivery-status and text/rfc822-headers, with a Reporting-MTA
and one Final-Recipient/Action/Status group per recipient.  An optional
argument is the number of recipients expected.  Exits 0 if all holds.
"""
import email
import email.policy
import sys


def main():
    raw = sys.stdin.buffer.read()
    want_rcpts = int(sys.argv[1]) if len(sys.argv) > 1 else None

    assert raw.endswith(b"\r\n"), "does not end with CRLF"
    for n, line in enumerate(raw.split(b"\r\n")):
        assert b"\n" not in line and b"\r" not in line, f"bare CR/LF, line {n}"
        assert len(line) <= 998, f"line {n} is {len(line)} octets"

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg.defects, f"defects: {msg.defects}"
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert "<mailer-daemon@" in str(msg["From"]).lower(), msg["From"]
    assert msg["Message-ID"] and msg["Date"] and msg["To"] and msg["Subject"]

    parts = list(msg.iter_parts())
    types = [p.get_content_type() for p in parts]
    assert types == ["text/plain", "message/delivery-status",
                     "text/rfc822-headers"], types
    for p in parts:
        assert not p.defects, f"{p.get_content_type()} defects: {p.defects}"

    groups = parts[1].get_payload()
    assert isinstance(groups, list) and len(groups) >= 2, groups
    assert groups[0]["Reporting-MTA"].startswith("dns;")
    for g in groups[1:]:
        assert g["Final-Recipient"].startswith("rfc822;")
        assert g["Action"] in ("failed", "delayed"), g["Action"]
        assert g["Status"][0] in "245", g["Status"]
    if want_rcpts is not None:
        assert len(groups) - 1 == want_rcpts, (len(groups) - 1, want_rcpts)

    text = parts[0].get_content()
    assert "delivery system" in text
    return 0


if __name__ == "__main__":
    sys.exit(main())
