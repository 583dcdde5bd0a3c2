"""Small helpers every layer uses: files written whole (`files`), processes (`processes`)
and the one settings loader (`settings`). They import no other package of the project."""
