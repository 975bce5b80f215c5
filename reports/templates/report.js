/* tapereader report: tables (sort, filter, pages), log-scale toggle, trades on price charts.
   Every value from the data goes into the page through textContent or SVG attributes, never
   through innerHTML. No network access. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function columns(data) {
    return data.cols.map(function (c) {
      var values = c.values;
      if ("const" in c) {
        values = new Array(data.n).fill(c["const"]);
      } else if (!values) {
        values = new Array(data.n);
        for (var i = 0; i < data.n; i++) values[i] = c.cats[c.codes[i]];
      }
      if (c.type === "time" && c.unit && c.unit !== 1) {
        values = values.map(function (v) { return v === null ? null : v * c.unit; });
      }
      return { name: c.name, label: c.label, type: c.type, values: values };
    });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function fmtTime(us) {
    if (us === null || us === undefined) return "";
    var ms = Math.floor(us / 1000);
    var d = new Date(ms);
    var s = d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) +
      " " + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds());
    var sub = us - Math.floor(us / 1e6) * 1e6;
    if (sub) s += "." + String(sub).padStart(6, "0").replace(/0+$/, "");
    return s;
  }

  function fmtSeconds(s) {
    if (s === null) return "";
    if (s < 1) return (s * 1000).toFixed(0) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }

  function fmtNum(v) {
    if (v === null || v === undefined) return "";
    var a = Math.abs(v);
    if (a >= 1e5) return v.toLocaleString("en-US", { maximumFractionDigits: 2 });
    if (a === 0) return "0";
    return String(Number(v.toPrecision(8)));
  }

  function fmt(v, type) {
    if (v === null || v === undefined) return "";
    switch (type) {
      case "time": return fmtTime(v);
      case "pct": return (v * 100).toFixed(2) + "%";
      case "money": return v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      case "int": return String(v);
      case "seconds": return fmtSeconds(v);
      case "text": return String(v);
      default: return fmtNum(v);
    }
  }

  function compare(a, b) {
    var an = a === null || a === undefined || a === "", bn = b === null || b === undefined || b === "";
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;  // missing values last
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function DataTable(root) {
    var data = readJSON(root.getAttribute("data-source"));
    if (!data) return;
    var self = this;
    this.root = root;
    this.n = data.n;
    this.cols = columns(data);
    this.byName = {};
    this.cols.forEach(function (c) { self.byName[c.name] = c; });
    this.pageSize = parseInt(root.getAttribute("data-page-size") || "50", 10);
    this.isTrades = root.hasAttribute("data-trades");
    this.rows = [];
    for (var i = 0; i < this.n; i++) this.rows.push(i);
    this.view = this.rows.slice();
    this.page = 0;
    this.sortCol = -1;
    this.asc = true;
    this.build();
    this.render();
  }

  DataTable.prototype.build = function () {
    var self = this;
    var tools = document.createElement("div");
    tools.className = "tools";
    this.filter = document.createElement("input");
    this.filter.type = "search";
    this.filter.placeholder = "filter (text, e.g. a symbol or side)";
    this.filter.addEventListener("input", function () { self.applyFilter(); });
    this.count = document.createElement("span");
    this.prev = document.createElement("button");
    this.prev.textContent = "‹ prev";
    this.prev.addEventListener("click", function () { self.page--; self.render(); });
    this.next = document.createElement("button");
    this.next.textContent = "next ›";
    this.next.addEventListener("click", function () { self.page++; self.render(); });
    this.pageLabel = document.createElement("span");
    [this.filter, this.count, this.prev, this.pageLabel, this.next].forEach(function (e) { tools.appendChild(e); });
    var scroll = document.createElement("div");
    scroll.className = "scroll";
    var table = document.createElement("table");
    var thead = document.createElement("thead");
    var tr = document.createElement("tr");
    this.headers = this.cols.map(function (c, j) {
      var th = document.createElement("th");
      th.textContent = c.label;
      th.setAttribute("data-col", c.name);
      th.setAttribute("scope", "col");
      th.addEventListener("click", function () { self.sortBy(j); });
      tr.appendChild(th);
      return th;
    });
    thead.appendChild(tr);
    this.tbody = document.createElement("tbody");
    table.appendChild(thead);
    table.appendChild(this.tbody);
    scroll.appendChild(table);
    this.root.appendChild(tools);
    this.root.appendChild(scroll);
  };

  DataTable.prototype.sortBy = function (j) {
    if (this.sortCol === j) this.asc = !this.asc; else { this.sortCol = j; this.asc = true; }
    var vals = this.cols[j].values, sign = this.asc ? 1 : -1;
    this.rows.sort(function (a, b) { return sign * compare(vals[a], vals[b]) || a - b; });
    var self = this;
    this.headers.forEach(function (th, k) {
      if (k === j) th.setAttribute("aria-sort", self.asc ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    this.applyFilter();
  };

  DataTable.prototype.applyFilter = function () {
    var q = this.filter.value.trim().toLowerCase();
    var textCols = this.cols.filter(function (c) { return c.type === "text" || c.type === "time"; });
    if (!q) this.view = this.rows.slice();
    else this.view = this.rows.filter(function (i) {
      return textCols.some(function (c) { return fmt(c.values[i], c.type).toLowerCase().indexOf(q) >= 0; });
    });
    this.page = 0;
    this.render();
  };

  DataTable.prototype.record = function (i) {
    var r = { _row: i };
    this.cols.forEach(function (c) { r[c.name] = c.values[i]; });
    return r;
  };

  DataTable.prototype.render = function () {
    var self = this;
    var pages = Math.max(1, Math.ceil(this.view.length / this.pageSize));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    var start = this.page * this.pageSize;
    var slice = this.view.slice(start, start + this.pageSize);
    var frag = document.createDocumentFragment();
    slice.forEach(function (i) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-row", String(i));
      self.cols.forEach(function (c) {
        var td = document.createElement("td");
        var v = c.values[i];
        td.textContent = fmt(v, c.type);
        if (c.type !== "text" && c.type !== "time") td.className = "num";
        if ((c.name === "pnl" || c.name === "return") && v !== null) td.className += v > 0 ? " pos" : v < 0 ? " neg" : "";
        tr.appendChild(td);
      });
      if (self.isTrades) {
        tr.className = "clickable";
        tr.addEventListener("click", function () {
          var old = self.tbody.querySelector("tr.selected");
          if (old) old.classList.remove("selected");
          tr.classList.add("selected");
          showTrade(self.record(i));
        });
      }
      frag.appendChild(tr);
    });
    this.tbody.replaceChildren(frag);
    this.count.textContent = this.view.length.toLocaleString("en-US") + " of " + this.n.toLocaleString("en-US") + " rows";
    this.pageLabel.textContent = "page " + (this.page + 1) + " / " + pages;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
  };

  /* --- trades on the price charts ------------------------------------------------------- */
  var priceMaps = readJSON("price-maps") || {};
  var symbolIndex = readJSON("symbol-index") || {};

  function mapper(idx) {
    var m = priceMaps[String(idx)];
    if (!m) return null;
    return {
      x: function (us) { return m.px + (us / 864e8 - m.x0) * m.sx; },
      y: function (p) { return m.h - (m.py + (p - m.y0) * m.sy); },
      clip: m.clip
    };
  }

  function svgEl(name, attrs) {
    var el = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    return el;
  }

  function chartSvg(idx) {
    var fig = document.getElementById("price-" + idx);
    return fig ? fig.querySelector("svg") : null;
  }

  function drawMarkers(table) {
    if (!table) return;
    var sym = table.byName.symbol, side = table.byName.side, et = table.byName.entry_ts,
      ep = table.byName.entry_price, xt = table.byName.exit_ts, xp = table.byName.exit_price,
      st = table.byName.status;
    if (!sym || !et || !ep) return;
    var paths = {};
    for (var i = 0; i < table.n; i++) {
      var idx = symbolIndex[sym.values[i]];
      if (idx === undefined) continue;
      var mp = mapper(idx);
      if (!mp) continue;
      var p = paths[idx] || (paths[idx] = { up: [], down: [], exit: [], map: mp });
      var x = mp.x(et.values[i]), y = mp.y(ep.values[i]);
      var isShort = side && String(side.values[i]).toLowerCase() === "short";
      if (isFinite(x) && isFinite(y)) {
        if (isShort) p.down.push("M" + x.toFixed(1) + " " + (y - 4).toFixed(1) + "l-3.5 -6h7z");
        else p.up.push("M" + x.toFixed(1) + " " + (y + 4).toFixed(1) + "l-3.5 6h7z");
      }
      var closed = !st || String(st.values[i]).toLowerCase() === "closed";
      if (closed && xt && xp && xt.values[i] !== null && xp.values[i] !== null) {
        var x2 = mp.x(xt.values[i]), y2 = mp.y(xp.values[i]);
        if (isFinite(x2) && isFinite(y2)) p.exit.push("M" + (x2 - 2.5).toFixed(1) + " " + (y2 - 2.5).toFixed(1) + "h5v5h-5z");
      }
    }
    Object.keys(paths).forEach(function (idx) {
      var svg = chartSvg(idx), p = paths[idx];
      if (!svg) return;
      var g = svgEl("g", { "class": "trade-markers" });
      if (p.up.length) g.appendChild(svgEl("path", { d: p.up.join(""), fill: "#1a9850", opacity: 0.85 }));
      if (p.down.length) g.appendChild(svgEl("path", { d: p.down.join(""), fill: "#d73027", opacity: 0.85 }));
      if (p.exit.length) g.appendChild(svgEl("path", { d: p.exit.join(""), fill: "#333333", opacity: 0.7 }));
      svg.appendChild(g);
    });
  }

  function showTrade(t) {
    var idx = symbolIndex[t.symbol];
    var caption = idx === undefined ? null : document.getElementById("caption-" + idx);
    var svg = idx === undefined ? null : chartSvg(idx);
    var mp = idx === undefined ? null : mapper(idx);
    if (!svg || !mp) return;
    var old = svg.querySelector("g.trade-highlight");
    if (old) old.remove();
    var g = svgEl("g", { "class": "trade-highlight" });
    var x1 = mp.x(t.entry_ts), x2 = t.exit_ts === null || t.exit_ts === undefined ? x1 : mp.x(t.exit_ts);
    var y1 = mp.y(t.entry_price), y2 = t.exit_price === null || t.exit_price === undefined ? y1 : mp.y(t.exit_price);
    var c = mp.clip, win = t.pnl > 0;
    g.appendChild(svgEl("rect", { x: Math.min(x1, x2) - 1, y: c[1], width: Math.max(Math.abs(x2 - x1), 2) + 2,
      height: c[3], fill: win ? "#1a9850" : "#d73027", opacity: 0.15 }));
    g.appendChild(svgEl("line", { x1: x1, y1: y1, x2: x2, y2: y2, stroke: "#000", "stroke-width": 1.5,
      "stroke-dasharray": "4 2" }));
    g.appendChild(svgEl("circle", { cx: x1, cy: y1, r: 5, fill: "none", stroke: "#1a9850", "stroke-width": 2 }));
    g.appendChild(svgEl("circle", { cx: x2, cy: y2, r: 5, fill: "none", stroke: "#d73027", "stroke-width": 2 }));
    svg.appendChild(g);
    if (caption) {
      caption.textContent = "Trade " + fmt(t.trade_id, "int") + ": " + fmt(t.side, "text") + " " +
        fmt(t.size, "num") + " " + fmt(t.symbol, "text") + ", entry " + fmt(t.entry_ts, "time") + " at " +
        fmt(t.entry_price, "num") + ", exit " + fmt(t.exit_ts, "time") + " at " + fmt(t.exit_price, "num") +
        ", P&L " + fmt(t.pnl, "money") + " (" + fmt(t["return"], "pct") + ")";
    }
    drawDetail(idx, t);
    var fig = document.getElementById("price-" + idx);
    if (fig && fig.scrollIntoView) fig.scrollIntoView({ block: "center" });
  }

  /* zoom on one trade: the close prices around it (when the series is embedded) */
  var detailData = {};

  function detailSeries(idx) {
    if (!(idx in detailData)) {
      var d = readJSON("prices-" + idx);
      detailData[idx] = d ? columns(d) : null;
    }
    return detailData[idx];
  }

  function lowerBound(a, v) {
    var lo = 0, hi = a.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (a[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function svgText(x, y, s, anchor) {
    var el = svgEl("text", { x: x, y: y, "font-size": 11, fill: "#555", "text-anchor": anchor || "start" });
    el.textContent = s;
    return el;
  }

  function drawDetail(idx, t) {
    var box = document.getElementById("detail-" + idx), cols = detailSeries(idx);
    if (!box) return;
    box.replaceChildren();
    if (!cols) {
      box.hidden = false;
      box.appendChild(document.createTextNode("The price series is too long to embed for a zoom; the band on the chart above marks the trade."));
      return;
    }
    var ts = cols[0].values, px = cols[1].values;
    var t0 = t.entry_ts, t1 = (t.exit_ts === null || t.exit_ts === undefined) ? t.entry_ts : t.exit_ts;
    var i0 = lowerBound(ts, t0), i1 = lowerBound(ts, t1);
    var pad = Math.max(20, Math.round((i1 - i0) * 0.5));
    var a = Math.max(0, i0 - pad), b = Math.min(ts.length - 1, i1 + pad);
    if (b <= a) return;
    var W = 700, H = 210, L = 60, R = 10, T = 12, B = 26;
    var lo = Infinity, hi = -Infinity;
    for (var i = a; i <= b; i++) { if (px[i] !== null) { lo = Math.min(lo, px[i]); hi = Math.max(hi, px[i]); } }
    [t.entry_price, t.exit_price].forEach(function (p) { if (p !== null && p !== undefined) { lo = Math.min(lo, p); hi = Math.max(hi, p); } });
    if (!(hi > lo)) { hi = lo + 1; }
    var sx = function (v) { return L + (v - ts[a]) / (ts[b] - ts[a] || 1) * (W - L - R); };
    var sy = function (p) { return T + (hi - p) / (hi - lo) * (H - T - B); };
    var svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, "class": "detail-chart", role: "img" });
    var win = t.pnl > 0;
    svg.appendChild(svgEl("rect", { x: sx(t0), y: T, width: Math.max(sx(t1) - sx(t0), 1), height: H - T - B,
      fill: win ? "#1a9850" : "#d73027", opacity: 0.12 }));
    var d = [];
    for (var j = a; j <= b; j++) if (px[j] !== null) d.push((d.length ? "L" : "M") + sx(ts[j]).toFixed(1) + " " + sy(px[j]).toFixed(1));
    svg.appendChild(svgEl("path", { d: d.join(""), fill: "none", stroke: "#2166ac", "stroke-width": 1.3 }));
    svg.appendChild(svgEl("circle", { cx: sx(t0), cy: sy(t.entry_price), r: 4.5, fill: "#1a9850" }));
    if (t.exit_price !== null && t.exit_price !== undefined)
      svg.appendChild(svgEl("circle", { cx: sx(t1), cy: sy(t.exit_price), r: 4.5, fill: "#d73027" }));
    svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
    svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
    svg.appendChild(svgText(L - 4, sy(hi) + 4, fmtNum(hi), "end"));
    svg.appendChild(svgText(L - 4, sy(lo), fmtNum(lo), "end"));
    svg.appendChild(svgText(L, H - 8, fmtTime(ts[a])));
    svg.appendChild(svgText(W - R, H - 8, fmtTime(ts[b]), "end"));
    box.appendChild(svg);
    box.hidden = false;
  }

  /* --- wiring --------------------------------------------------------------------------- */
  var tables = {};
  Array.prototype.forEach.call(document.querySelectorAll(".datatable"), function (root) {
    tables[root.id] = new DataTable(root);
  });
  drawMarkers(tables["trades-table"]);

  var log = document.getElementById("logscale");
  if (log) log.addEventListener("change", function () {
    document.getElementById("equity-linear").hidden = log.checked;
    document.getElementById("equity-log").hidden = !log.checked;
  });
  window.tapereader = { tables: tables, showTrade: showTrade };
})();
