"""One module per command: those that read a project load it once, through a Workspace, and call
the libraries below with what was loaded; none prints (cli.py and views.py do)."""
