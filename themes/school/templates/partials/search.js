// The search page (written into search.html): runs the ?q= search against the site's own Pagefind index and lists the
// results. The messages come from the page (data-* attributes, already translated).
const output = document.getElementById("search-results");
const status = document.getElementById("search-status");
const input = document.getElementById("search-page-q");
const query = (new URLSearchParams(window.location.search).get("q") || "").trim();

// The language switch keeps the search: the other language's search page, with the same ?q=.
if (query) {
  for (const link of document.querySelectorAll(".language-switch a[hreflang]")) {
    const url = new URL(link.getAttribute("href"), window.location.href);
    url.searchParams.set("q", query);
    link.href = url.toString();
  }
}

function fill(message, values) {
  return message.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

// Pagefind's excerpt is text with <mark> around the words found: rebuild it as nodes.
function excerptNodes(excerpt) {
  const nodes = [];
  let marked = false;
  for (const part of excerpt.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>" || part === "</mark>") {
      marked = part === "<mark>";
      continue;
    }
    // A <textarea> decodes entities as text (no markup, no scripts) and keeps spaces.
    const decoder = document.createElement("textarea");
    decoder.innerHTML = part;
    const text = decoder.value;
    if (!text) continue;
    if (marked) {
      const mark = document.createElement("mark");
      mark.textContent = text;
      nodes.push(mark);
    } else {
      nodes.push(document.createTextNode(text));
    }
  }
  return nodes;
}

async function run() {
  input.value = query;
  if (!query) return;
  status.textContent = output.dataset.searching;
  let pagefind;
  try {
    pagefind = await import(new URL(output.dataset.bundle + "pagefind.js", document.baseURI).href);
    await pagefind.options({
      baseUrl: new URL(output.dataset.site, document.baseURI).pathname,
      excerptLength: 30,
    });
  } catch (error) {
    status.textContent = output.dataset.unavailable;
    return;
  }
  const search = await pagefind.search(query);
  const found = await Promise.all(search.results.slice(0, 25).map((result) => result.data()));
  const list = document.createElement("ol");
  list.className = "search-results";
  for (const result of found) {
    const item = document.createElement("li");
    const heading = document.createElement("h2");
    const link = document.createElement("a");
    link.href = result.url;
    link.textContent = result.meta.title || result.url;
    heading.append(link);
    const excerpt = document.createElement("p");
    excerpt.append(...excerptNodes(result.excerpt || ""));
    item.append(heading, excerpt);
    list.append(item);
  }
  const values = { n: search.results.length, q: query };
  const message = [output.dataset.none, output.dataset.one][search.results.length] ?? output.dataset.many;
  status.textContent = fill(message, values);
  if (found.length) output.append(list);
}

run();
