"""`composer new`: next week's issue file, with the reminders it will carry."""

from __future__ import annotations

from composer.content.scaffold import new_issue
from composer.workspace import on_folder

new = on_folder(new_issue)
