"""`composer inbox`: act on the unsubscribe replies and bounces in the programme's mailbox.

The mailing lists are read by the library once its lock is held, not from the workspace: a second
run must see what the first one wrote.
"""

from __future__ import annotations

from composer.mailbox.inbox import read_inbox
from composer.workspace import on_folder

inbox = on_folder(read_inbox)
