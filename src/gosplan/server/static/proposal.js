// The proposal form's live total: the same arithmetic as gosplan.democracy.costing, on the
// per-unit costs the page embeds. The form works without it ("work out the cost" asks the server).
(function () {
  "use strict";
  var form = document.getElementById("proposal-form");
  var data = JSON.parse(document.getElementById("costing-data").textContent);
  var SCALES = {thousand: 1e3, million: 1e6, billion: 1e9};

  function number(text) {
    var t = String(text || "").replace(/[,%\s]/g, "");
    if (t === "") return null;
    var v = Number(t);
    return isFinite(v) ? v : NaN;
  }

  function fixed(v, digits) {
    return v.toLocaleString("en-GB", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }

  function quantity(value, unit) {  // as costing.format_quantity
    var words = unit.split(/\s+/).filter(Boolean);
    var i = words.findIndex(function (w) { return w in SCALES; });
    if (i < 0) return (fixed(value, 1) + " " + unit).trim();
    var scale = SCALES[words[i]];
    words.splice(i, 1);
    var rest = words.join(" ");
    var big = [["trillion", 1e12], ["billion", 1e9], ["million", 1e6]];
    for (var k = 0; k < big.length; k++) {
      if (Math.abs(value) * scale >= big[k][1]) return (fixed(value * scale / big[k][1], 1) + " " + big[k][0] + " " + rest).trim();
    }
    return (fixed(value * scale, 0) + " " + rest).trim();
  }

  function field(name) {
    var el = form.elements.namedItem(name);
    return el ? number(el.value) : null;
  }

  function update() {
    var n = data.products.length, q = new Array(n), bad = false;
    for (var i = 0; i < n; i++) {
      var id = data.products[i], base = data.base[i];
      var amount = field("basket:" + id), change = field("change:" + id), group = field("gchange:" + data.group[i]);
      if ([amount, change, group].some(function (v) { return Number.isNaN(v); })) bad = true;
      if (amount !== null) q[i] = amount;
      else if (change !== null) q[i] = base * (1 + change / 100);
      else if (group !== null) q[i] = base * (1 + group / 100);
      else q[i] = 0;
    }
    data.factors.forEach(function (f) {
      var li = document.getElementById("cost-" + f.id);
      if (!li) return;
      var need = 0;
      for (var i = 0; i < n; i++) need += f.per_unit[i] * (q[i] || 0);
      var who = f.against === "available" ? (f.label.indexOf("labour") === 0 ? "the workforce supplies" : "the economy can supply")
                                          : "the base year used";
      var share = f.supply ? " (" + fixed(100 * need / f.supply, 1) + " %)" : "";
      li.textContent = bad ? f.label + ": a field above is not a number" :
        f.label + ": your proposal needs " + quantity(need, f.unit) + "; " + who + " " + quantity(f.supply, f.unit) + share + ".";
      li.className = need > f.supply * (1 + 1e-12) ? "over" : "within";
    });
  }

  form.addEventListener("input", update);
  document.getElementById("costs").setAttribute("aria-live", "polite");
})();
