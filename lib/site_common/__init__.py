"""Small helpers every layer uses: files written whole (`files`) and processes (`processes`).
They import no other package of the project."""
