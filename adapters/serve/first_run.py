"""What ``opsledger serve`` prints when nobody can log in to the console yet (ADR 0053).

A store with no users and no ``OPSLEDGER_ADMIN_TOKEN`` is an open development store (ADR
0036): every caller is an admin without logging in, the console as the API. ``serve`` says so
once at start, in Chinese and English, with the console's address and the commands that
create users with passwords (``opsledger demo``, ``opsledger user create`` and
``set-password``). It creates no user itself: that would close the open store the README's
first ``curl`` examples use (ADR 0053).
"""

from __future__ import annotations

import os
import sys
from typing import Any

RULE = "=" * 76


def program() -> str:
    """How to call ``opsledger`` again from here: the script this process was started as
    (``.venv/bin/opsledger`` under ``scripts/serve``), else plain ``opsledger``."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) != "opsledger":
        return "opsledger"
    relative = os.path.relpath(argv0)
    return argv0 if relative.startswith("..") else relative


def first_run_notice(services: Any, console_url: str) -> str | None:
    """The notice, or ``None`` when the store has a user or an admin token is configured."""
    from application.identities import has_identities

    settings = services.settings
    if settings.admin_token is not None or has_identities(services.desk):
        return None
    desk = console_url.rstrip("/") + "/ui/"
    cli = program()
    lines = [
        RULE,
        f"控制台 / console:  {console_url}",
        "",
        "这是开放的开发库：还没有用户，也没有设置 OPSLEDGER_ADMIN_TOKEN，",
        f"所以无需登录，任何人都是管理员（API 也一样）。请直接打开 {desk}",
        "要按角色登录，先创建用户和密码：",
        f"  {cli} demo     # 示例数据，并为每个角色创建用户，打印用户名和密码",
        f"  {cli} user create admin --name 管理员 --role admin",
        f"  {cli} user set-password admin     # 输入两次，至少 8 个字符",
        "有了用户之后，控制台需要登录，每个 /api/v1 请求都需要令牌。",
        "",
        "This store is open (development): it has no users and OPSLEDGER_ADMIN_TOKEN is",
        f"not set, so every caller is an admin without logging in (the API too). Open {desk}",
        "To log in by role, create users with passwords:",
        f"  {cli} demo     # sample data and a user for each role, printed with passwords",
        f"  {cli} user create admin --name Admin --role admin",
        f"  {cli} user set-password admin     # asked twice, 8 characters or more",
        "Once a user exists, the console needs a login and every /api/v1 call a token.",
    ]
    if settings.database_url != type(settings)().database_url:
        lines += ["", "（这些命令请加上与本服务相同的 --database，或设置 OPSLEDGER_DATABASE_URL）",
                  "(give these commands this server's --database, or set OPSLEDGER_DATABASE_URL)"]
    lines.append(RULE)
    return "\n".join(lines)
