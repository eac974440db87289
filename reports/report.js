/* keysweep HTML report: systems, inventory and graph views, drawn from the embedded data a page at
   a time. Every piece of scan data reaches the page through textContent, never as markup. */
/* The data is inline JSON, or in a large report gzip-compressed and base64-encoded (inflated here).
   A split report (docs/reports.md) holds the first assets only (its "head"); all of them come from
   its companion <name>.data.js, a script beside the page that calls keysweepData(token, data). */
(function () {
  "use strict";
  function inflate(base64) {
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  var packed = document.getElementById("ks-data-gz");
  var ready = packed ? inflate(packed.textContent.trim())
    : Promise.resolve(JSON.parse(document.getElementById("ks-data").textContent));
  ready.then(function (data) {
    var show = main(data);
    if (data.head) loadCompanion(data.head, show);
  });

  // -- the companion: a script beside the page, or a clear word that it is missing -------------------
  function loadCompanion(head, show) {
    var note = document.getElementById("ks-companion");
    var info = head.companion, shown = head.at.length;
    var partial = "The summaries above are complete; the systems, inventory and graph show only the first " +
      shown + " of " + head.assets + " assets (worst first).";
    function say(state, text) {
      note.setAttribute("data-state", state);
      note.textContent = text;
      document.body.setAttribute("data-companion", state);
    }
    var answered = false;
    window.keysweepData = function (token, base64) {
      answered = true;
      document.body.setAttribute("data-companion-ms", String(Math.round(performance.now())));  // for bench_html
      if (token !== info.token) {
        say("wrong", info.name + " beside this page belongs to another report. " + partial +
            " Keep each report's page and data file together.");
        return;
      }
      inflate(base64).then(function (full) {
        document.body.setAttribute("data-inflated-ms", String(Math.round(performance.now())));
        show(full);
        say("loaded", "The full inventory (" + head.assets + " assets) is loaded from " + info.name + ", beside this page.");
      }).catch(function (error) {  // a damaged file, or a browser without DecompressionStream
        say("broken", info.name + " could not be read (" + error + "). " + partial);
      });
    };
    function missing() {
      if (answered) return;
      say("missing", info.name + " is missing: it holds the full inventory of this report and belongs beside this page. " + partial);
    }
    var script = document.createElement("script");
    script.src = info.src;
    script.addEventListener("error", missing);
    script.addEventListener("load", missing);  // loaded, but no call: not a keysweep data file
    document.body.appendChild(script);
  }

// draws the report from DATA; returns show(full), by which the companion's data replaces the head
function main(DATA) {
  var SEV = DATA.severities; // index = rank: info .. critical
  var PAGE = 100;
  var A, F, R, HEAD, findingsOf, neighbours, haystack, assetsOfSystem, systemRows;

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "cls") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function sevBadge(rank) {
    return rank < 0 ? el("span", { cls: "sev sev-none", text: "none" }) : el("span", { cls: "sev sev-" + SEV[rank], text: SEV[rank] });
  }
  function fmt(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  // -- indexes, built once per data set (the head, then the companion's full data) -------------------
  function index(data) {
    DATA = data; A = data.assets; F = data.findings; R = data.rules; HEAD = data.head || null;
    findingsOf = A.map(function () { return []; });
    F.forEach(function (f, i) { if (f.a >= 0) findingsOf[f.a].push(i); });
    findingsOf.forEach(function (list) { list.sort(function (x, y) { return F[y].s - F[x].s; }); });
    neighbours = A.map(function () { return []; });
    data.relations.forEach(function (r) {
      neighbours[r[0]].push([r[1], data.relationTypes[r[2]], true]);
      neighbours[r[1]].push([r[0], data.relationTypes[r[2]], false]);
    });
    haystack = A.map(function (a) {
      var systems = a.y.map(function (s) { return data.systems[s]; }).join(" ");
      return (a.l + " " + a.i + " " + a.d + " " + a.t + " " + systems).toLowerCase();
    });
    assetsOfSystem = data.systems.map(function () { return []; });
    A.forEach(function (a, i) { a.y.forEach(function (s) { assetsOfSystem[s].push(i); }); });
    systemRows = data.systems.map(function (name, s) {
      // the head's roll-up counts every asset, also those only the companion holds
      if (HEAD) return { s: s, name: name, worst: HEAD.systems[s][0], open: HEAD.systems[s][1], count: HEAD.systems[s][2] };
      var worst = -1, open = 0;
      assetsOfSystem[s].forEach(function (i) { worst = Math.max(worst, A[i].s); open += A[i].n; });
      return { s: s, name: name, worst: worst, open: open, count: assetsOfSystem[s].length };
    });
    systemRows.sort(function (x, y) { return y.worst - x.worst || y.open - x.open || (x.name < y.name ? -1 : 1); });
  }
  index(DATA);
  // the head's words for what it does not hold
  function headNote(n) { return HEAD ? " (the first " + A.length + " of " + HEAD.assets + " in this page; " + n + ")" : ""; }

  // -- a pager shared by the lists ----------------------------------------------------------------
  function pager(container, total, page, size, go) {
    clear(container);
    var pages = Math.max(1, Math.ceil(total / size));
    var prev = el("button", { type: "button", text: "previous" });
    var next = el("button", { type: "button", text: "next" });
    prev.disabled = page <= 0; next.disabled = page >= pages - 1;
    prev.addEventListener("click", function () { go(page - 1); });
    next.addEventListener("click", function () { go(page + 1); });
    container.appendChild(prev);
    container.appendChild(el("span", { cls: "muted", text: "page " + (page + 1) + " of " + pages }));
    container.appendChild(next);
  }

  // -- findings of one asset, with remediation and references -----------------------------------
  function findingBlock(index) {
    var f = F[index], rule = R[f.r];
    var block = el("div", { cls: "finding s" + f.s + (f.w ? " waived" : "") },
      el("p", null, sevBadge(f.s), " ", el("strong", { text: rule.t }), " ", el("code", { text: rule.id })),
      el("p", { text: f.m }));
    if (f.d) block.appendChild(el("p", null, el("strong", { text: "Due: " }), f.d));
    if (f.w) block.appendChild(el("p", null, el("strong", { text: "Waived: " }), f.w));
    block.appendChild(el("p", null, el("strong", { text: "Fix: " }), f.f || rule.r));
    if (rule.x.length) block.appendChild(el("p", { cls: "refs", text: "References: " + rule.x.join("; ") }));
    return block;
  }
  function assetBlock(i, withProps) {
    var a = A[i];
    var block = el("div", { cls: "asset-block" },
      el("h4", null, sevBadge(a.s), " ", a.t + ": ", a.l),
      el("p", { cls: "muted", text: a.d }),
      el("p", null, el("code", { text: a.i })));
    var go = el("button", { type: "button", text: "show in graph" });
    go.addEventListener("click", function () { selectAsset(i, true); });
    block.appendChild(go);
    if (withProps) {
      var dl = el("dl", { cls: "props" });
      Object.keys(a.p).sort().forEach(function (k) {
        dl.appendChild(el("dt", { text: k }));
        dl.appendChild(el("dd", { text: fmt(a.p[k]) }));
      });
      a.o.forEach(function (loc) {
        dl.appendChild(el("dt", { text: "location" }));
        dl.appendChild(el("dd", { text: loc.kind + ": " + loc.ref + (loc.detail ? " (" + loc.detail + ")" : "") }));
      });
      neighbours[i].forEach(function (n) {
        dl.appendChild(el("dt", { text: n[2] ? n[1] + " \u2192" : "\u2190 " + n[1] }));
        dl.appendChild(el("dd", { text: A[n[0]].t + ": " + A[n[0]].l }));
      });
      block.appendChild(dl);
    } else if (a.o.length) {
      block.appendChild(el("p", { cls: "muted", text: "at " + a.o.slice(0, 3).map(function (loc) { return loc.ref + (loc.detail ? " (" + loc.detail + ")" : ""); }).join("; ") + (a.o.length > 3 ? " and " + (a.o.length - 3) + " more" : "") }));
    }
    findingsOf[i].forEach(function (fi) { block.appendChild(findingBlock(fi)); });
    if (!findingsOf[i].length) block.appendChild(el("p", { cls: "muted", text: "No findings." }));
    return block;
  }

  // -- systems --------------------------------------------------------------------------------------
  var sysState = { filter: "", page: 0, selected: -1, assetPage: 0 };
  var sysList = document.getElementById("sys-list");
  function drawSystems() {
    var q = sysState.filter;
    var rows = q ? systemRows.filter(function (r) { return r.name.toLowerCase().indexOf(q) >= 0; }) : systemRows;
    var size = 50;
    sysState.page = Math.min(sysState.page, Math.max(0, Math.ceil(rows.length / size) - 1));
    clear(sysList);
    rows.slice(sysState.page * size, (sysState.page + 1) * size).forEach(function (r) {
      // a button: reachable by Tab, chosen by Enter or Space like a click
      var pick = el("button", { type: "button", cls: "pick-item", "aria-pressed": r.s === sysState.selected ? "true" : "false" },
        el("span", null, sevBadge(r.worst), " ", r.name),
        el("span", { cls: "muted", text: r.count + " assets, " + r.open + " open" }));
      pick.addEventListener("click", function () {
        sysState.selected = r.s; sysState.assetPage = 0; drawSystems(); drawSystem();
        var again = sysList.querySelector("button[aria-pressed=true]");
        if (again) again.focus();
      });
      sysList.appendChild(el("li", { cls: r.s === sysState.selected ? "selected" : "" }, pick));
    });
    pager(document.getElementById("sys-pager"), rows.length, sysState.page, size, function (p) { sysState.page = p; drawSystems(); });
  }
  function drawSystem() {
    var pane = document.getElementById("sys-detail");
    clear(pane);
    var s = sysState.selected;
    if (s < 0) return;
    var members = assetsOfSystem[s].slice().sort(function (x, y) { return A[y].s - A[x].s || A[y].n - A[x].n; });
    var count = HEAD ? HEAD.systems[s][2] : members.length;
    pane.appendChild(el("h3", { text: DATA.systems[s] + " (" + count + " assets)" }));
    if (DATA.systemInfo && DATA.systemInfo[s]) pane.appendChild(el("p", { cls: "muted", text: DATA.systemInfo[s] }));
    if (HEAD && members.length < count) {
      pane.appendChild(el("p", { cls: "muted", text: members.length + " of them are among the first " + A.length + " assets this page holds; the others are in " + HEAD.companion.name + "." }));
    }
    var size = 25, page = sysState.assetPage;
    members.slice(page * size, (page + 1) * size).forEach(function (i) { pane.appendChild(assetBlock(i, false)); });
    var pg = el("div", { cls: "pager" });
    pane.appendChild(pg);
    pager(pg, members.length, page, size, function (p) { sysState.assetPage = p; drawSystem(); });
  }
  document.getElementById("sys-filter").addEventListener("input", debounce(function (e) {
    sysState.filter = e.target.value.trim().toLowerCase(); sysState.page = 0; drawSystems();
  }));

  // -- inventory table --------------------------------------------------------------------------------
  var inv = { filter: "", type: "", sev: "", key: "s", dir: -1, page: 0, rows: null, selected: -1 };
  var typeSelect = document.getElementById("inv-type");
  function fillTypes() {
    while (typeSelect.options.length > 1) typeSelect.remove(1);
    Array.from(new Set(A.map(function (a) { return a.t; }))).sort().forEach(function (t) {
      typeSelect.appendChild(el("option", { value: t, text: t }));
    });
    typeSelect.value = inv.type;
  }
  fillTypes();
  function debounce(fn) {
    var timer = null;
    return function (e) { clearTimeout(timer); timer = setTimeout(function () { fn(e); }, 120); };
  }
  function sortValue(i, key) {
    var a = A[i];
    if (key === "y") return a.y.length ? DATA.systems[a.y[0]] : "";
    return a[key];
  }
  function computeRows() {
    var q = inv.filter, t = inv.type, sev = inv.sev === "" ? null : Number(inv.sev);
    var rows = [];
    for (var i = 0; i < A.length; i++) {
      if (t && A[i].t !== t) continue;
      if (sev !== null && (sev < 0 ? A[i].s >= 0 : A[i].s < sev)) continue;
      if (q && haystack[i].indexOf(q) < 0) continue;
      rows.push(i);
    }
    var key = inv.key, dir = inv.dir;
    rows.sort(function (x, y) {
      var u = sortValue(x, key), v = sortValue(y, key);
      if (u < v) return -dir;
      if (u > v) return dir;
      return x - y;
    });
    inv.rows = rows;
  }
  var invBody = document.getElementById("inv-body");
  var detailCard = document.getElementById("asset-detail");
  var detailHome = detailCard.parentNode, detailNext = detailCard.nextSibling;
  function drawInventory() {
    if (inv.rows === null) computeRows();
    var rows = inv.rows;
    inv.page = Math.min(inv.page, Math.max(0, Math.ceil(rows.length / PAGE) - 1));
    detailHome.insertBefore(detailCard, detailNext);  // out of the rows before they are redrawn
    clear(invBody);
    rows.slice(inv.page * PAGE, (inv.page + 1) * PAGE).forEach(function (i) {
      var a = A[i];
      var tr = el("tr", { cls: "pickable" + (i === inv.selected ? " selected" : ""), "data-index": String(i), tabindex: "0",
                          "aria-label": a.t + " " + a.l + ", worst " + (a.s < 0 ? "none" : SEV[a.s]) + ", press Enter for details" },
        el("td", { text: a.t }), el("td", { text: a.l }), el("td", { text: a.d }),
        el("td", null, sevBadge(a.s)), el("td", { cls: "num", text: String(a.n) }),
        el("td", { text: a.y.map(function (s) { return DATA.systems[s]; }).join(", ") }));
      tr.addEventListener("click", function () { selectAsset(i, false); });
      tr.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectAsset(i, false); }
      });
      invBody.appendChild(tr);
    });
    placeDetail();
    document.getElementById("inv-count").textContent = rows.length + " of " + A.length + " assets" + headNote("filter and sort cover those");
    pager(document.getElementById("inv-pager"), rows.length, inv.page, PAGE, function (p) { inv.page = p; drawInventory(); });
    document.querySelectorAll("#inv-table th[data-key]").forEach(function (th) {
      var on = th.getAttribute("data-key") === inv.key;
      th.classList.toggle("sorted-asc", on && inv.dir > 0);
      th.classList.toggle("sorted-desc", on && inv.dir < 0);
      if (on) th.setAttribute("aria-sort", inv.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }
  function refilter() { inv.rows = null; inv.page = 0; drawInventory(); }
  document.getElementById("inv-filter").addEventListener("input", debounce(function (e) {
    inv.filter = e.target.value.trim().toLowerCase(); refilter();
  }));
  typeSelect.addEventListener("change", function (e) { inv.type = e.target.value; refilter(); });
  document.getElementById("inv-sev").addEventListener("change", function (e) { inv.sev = e.target.value; refilter(); });
  document.querySelectorAll("#inv-table th[data-key]").forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      inv.dir = inv.key === key ? -inv.dir : (key === "s" || key === "n" ? -1 : 1);
      inv.key = key;
      refilter();
    });
  });

  // -- selection: the detail card and the graph follow the selected asset -----------------------------
  // the detail opens right under its row (not below a 100-row table), and takes the focus
  function placeDetail() {
    var card = detailCard;
    var row = invBody.querySelector('tr[data-index="' + inv.selected + '"]');
    if (!row || card.hidden) return;
    var holder = el("tr", { cls: "detail-row" });
    var cell = el("td", { colspan: "6" });
    cell.appendChild(card);
    holder.appendChild(cell);
    row.parentNode.insertBefore(holder, row.nextSibling);
  }
  function selectAsset(i, scroll) {
    inv.selected = i;
    var card = detailCard;
    clear(card);
    card.hidden = false;
    card.appendChild(assetBlock(i, true));
    // show the asset's page, so that its row (and the detail under it) is on screen
    if (inv.rows === null) computeRows();
    var at = inv.rows.indexOf(i);
    if (at >= 0) inv.page = Math.floor(at / PAGE);
    drawInventory();
    drawGraph(i);
    if (scroll) document.getElementById("graph").scrollIntoView();
    else if (card.parentNode && card.parentNode.tagName === "TD") { card.scrollIntoView({ block: "nearest" }); card.focus({ preventScroll: true }); }
  }

  // -- graph: the two-step neighbourhood of one asset, drawn as SVG -----------------------------------
  var svg = document.getElementById("graph-svg");
  var SVGNS = svg.namespaceURI;
  var TYPE_COLOURS = {
    "certificate": "#2457c5", "key": "#8e44ad", "tls-endpoint": "#16a085", "hsm-token": "#d35400",
    "file": "#7f8c8d", "config": "#b7950b", "trust-store": "#1f618d", "secret": "#c0392b"
  };
  var SEV_COLOURS = ["#6b7685", "#2f7dd1", "#e08a00", "#c62828", "#7a0019"];
  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function shorten(text) {
    if (text.length <= 34) return text;
    // paths say the most at their end
    return text.charAt(0) === "/" ? "\u2026" + text.slice(-33) : text.slice(0, 33) + "\u2026";
  }
  function drawGraph(center) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var MAX_RING = 24, MAX_NODES = 80;
    var placed = {}, order = [center];
    placed[center] = { x: 0, y: 0, depth: 0 };
    var ring1 = [];
    neighbours[center].forEach(function (n) { if (!(n[0] in placed) && ring1.length < MAX_RING) { placed[n[0]] = null; ring1.push(n[0]); } });
    ring1.forEach(function (id, k) {
      var angle = 2 * Math.PI * k / Math.max(ring1.length, 1);
      placed[id] = { x: 160 * Math.cos(angle), y: 130 * Math.sin(angle), depth: 1, angle: angle };
      order.push(id);
    });
    ring1.forEach(function (id) {
      var kids = neighbours[id].filter(function (n) { return !(n[0] in placed); }).slice(0, 6);
      kids.forEach(function (n, k) {
        if (order.length >= MAX_NODES || n[0] in placed) return;
        var spread = 0.35, angle = placed[id].angle + (k - (kids.length - 1) / 2) * spread / Math.max(1, ring1.length / 6);
        placed[n[0]] = { x: 300 * Math.cos(angle), y: 250 * Math.sin(angle), depth: 2 };
        order.push(n[0]);
      });
    });
    order.forEach(function (id) {
      neighbours[id].forEach(function (n) {
        if (n[2] && placed[n[0]]) {
          var line = svgEl("line", { x1: placed[id].x, y1: placed[id].y, x2: placed[n[0]].x, y2: placed[n[0]].y });
          var title = svgEl("title");
          title.textContent = A[id].l + " " + n[1] + " " + A[n[0]].l;
          line.appendChild(title);
          svg.appendChild(line);
        }
      });
    });
    order.forEach(function (id) {
      var a = A[id], p = placed[id];
      var g = svgEl("g", { "class": "node" + (id === center ? " center" : ""), transform: "translate(" + p.x + "," + p.y + ")",
                           tabindex: "0", role: "button", "aria-label": a.t + ": " + a.l + ", " + a.n + " open findings" });
      g.appendChild(svgEl("circle", {
        r: id === center ? 14 : 9, fill: TYPE_COLOURS[a.t] || "#999",
        stroke: a.s >= 0 ? SEV_COLOURS[a.s] : "#fff"
      }));
      var label = svgEl("text", { x: 12, y: 4 });
      label.textContent = shorten(a.l);
      g.appendChild(label);
      var title = svgEl("title");
      title.textContent = a.t + ": " + a.l + " (" + a.n + " open findings)";
      g.appendChild(title);
      g.addEventListener("click", function () { selectAsset(id, false); });
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectAsset(id, false); }
      });
      svg.appendChild(g);
    });
    var legend = document.getElementById("graph-legend");
    clear(legend);
    legend.appendChild(document.createTextNode("Fill: "));
    Object.keys(TYPE_COLOURS).forEach(function (t) {
      var swatch = el("span", { cls: "key" });
      swatch.style.background = TYPE_COLOURS[t];
      legend.appendChild(swatch);
      legend.appendChild(document.createTextNode(t + " "));
    });
    legend.appendChild(document.createTextNode("; ring: worst open finding. Showing " + order.length + " of " + A.length + " assets around " + A[center].l + "." + headNote("links to the others are not shown")));
  }

  // -- print: every asset and every system, not the page on screen ---------------------------------------
  var printed = false;
  function buildPrint() {
    if (printed) return;
    printed = true;
    var inventory = document.getElementById("print-inventory");
    var table = el("table", { cls: "list" },
      el("caption", { text: HEAD ? "The first " + A.length + " of " + HEAD.assets + " inventoried assets, worst first; the full inventory is in " +
                                    HEAD.companion.name + ", beside this page" : "Every inventoried asset (" + A.length + "), worst first" }),
      el("thead", null, el("tr", null, el("th", { text: "Type" }), el("th", { text: "Name" }), el("th", { text: "Details" }),
        el("th", { text: "Worst" }), el("th", { text: "Open" }), el("th", { text: "Systems" }))));
    var body = el("tbody");
    var order = A.map(function (_, i) { return i; }).sort(function (x, y) { return A[y].s - A[x].s || A[y].n - A[x].n || x - y; });
    order.forEach(function (i) {
      var a = A[i];
      body.appendChild(el("tr", { "data-print-index": String(i) }, el("td", { text: a.t }), el("td", { text: a.l }), el("td", { text: a.d }),
        el("td", { text: a.s < 0 ? "none" : SEV[a.s] }), el("td", { text: String(a.n) }),
        el("td", { text: a.y.map(function (s) { return DATA.systems[s]; }).join(", ") })));
    });
    table.appendChild(body);
    inventory.appendChild(table);
    var systems = document.getElementById("print-systems");
    var list = el("table", { cls: "list" },
      el("caption", { text: "Every system (" + systemRows.length + ")" }),
      el("thead", null, el("tr", null, el("th", { text: "System" }), el("th", { text: "Assets" }), el("th", { text: "Open findings" }), el("th", { text: "Worst" }))));
    var sysBody = el("tbody");
    systemRows.forEach(function (r) {
      sysBody.appendChild(el("tr", null, el("td", { text: r.name }), el("td", { text: String(r.count) }), el("td", { text: String(r.open) }),
        el("td", { text: r.worst < 0 ? "none" : SEV[r.worst] })));
    });
    list.appendChild(sysBody);
    systems.appendChild(list);
  }
  window.addEventListener("beforeprint", buildPrint);
  if (window.matchMedia) window.matchMedia("print").addListener(function (m) { if (m.matches) buildPrint(); });

  // -- start: the worst asset is selected in the graph, nothing is scrolled ---------------------------
  function drawAll() {
    drawSystems();
    if (sysState.selected < 0 && systemRows.length) sysState.selected = systemRows[0].s;
    if (sysState.selected >= 0) { drawSystem(); drawSystems(); }
    drawInventory();
    if (A.length) {
      var start = inv.selected;
      if (start < 0) {
        start = 0;
        for (var i = 1; i < A.length; i++) if (A[i].s > A[start].s || (A[i].s === A[start].s && A[i].n > A[start].n)) start = i;
      }
      drawGraph(start);
    }
    // small reports are ready for print at once (a PDF printer may not send beforeprint); large ones on demand
    if (A.length <= 20000) buildPrint();
  }
  drawAll();
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-ready", "1");

  // the companion's data: the same views, every asset; what was selected stays selected
  return function show(full) {
    var at = HEAD.at;
    index(full);
    if (inv.selected >= 0) inv.selected = at[inv.selected];
    inv.rows = null;
    fillTypes();
    printed = false;
    clear(document.getElementById("print-inventory"));
    clear(document.getElementById("print-systems"));
    if (inv.selected >= 0 && !detailCard.hidden) { clear(detailCard); detailCard.appendChild(assetBlock(inv.selected, true)); }
    drawAll();
    document.body.setAttribute("data-full-ms", String(Math.round(performance.now())));
  };
}
})();
