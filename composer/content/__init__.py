"""Files → checked model → plan: settings, contacts, networks, members, issues and carry-forward."""
