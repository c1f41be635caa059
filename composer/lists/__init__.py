"""The mailing lists: members, the CSV files as spreadsheets write them, suppressions."""
