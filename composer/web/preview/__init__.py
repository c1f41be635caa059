"""`composer preview`: a local web page that shows each issue exactly as its readers receive it."""
