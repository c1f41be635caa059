"""Plan → editions: which items each reader gets, rendered to HTML and text, and checked."""
