"""Pages for people: the live preview, the static archive and the calendar files it links to."""
