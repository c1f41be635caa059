"""composer: write the weekly Update once in YAML; send it as HTML and plain-text email."""
