"""Platform teams' own RFT graders (see README.md here and docs/graders.md); a package only so the code gates
(mypy, ruff, the 600-line rule) hold these files to the same rules as the code that ships beside them."""
