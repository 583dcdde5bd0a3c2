"""Small helpers every layer uses: files written whole (`files`), processes (`processes`),
the one settings loader (`settings`) and the root of the project's errors (`errors`). They
import no other package of the project."""
