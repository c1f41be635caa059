"""Where a programme folder keeps its files: the one place their names are written."""

SETTINGS_FILE = "composer.yaml"
CONTACTS_FILE = "contacts.yaml"
NETWORKS_FILE = "recipients/networks.yaml"
ISSUES_DIR = "issues"
