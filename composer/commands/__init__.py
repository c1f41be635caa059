"""One module per command: each loads the project once and calls the libraries below."""
