// The layout check of tests/browser/support.py: boxes a person reads or uses that
// overlap, and boxes that stick out of the page sideways (outside a box that scrolls).
// Returns one line per problem; [] when the page is laid out.
() => {
  const SELECTOR = "label, input:not([type=hidden]), select, textarea, button, h1, h2, h3, h4, h5, h6, legend, .form-text, .help-block, th, td, img, svg, p, .btn, .badge, .alert";
  const seen = [];
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || style.opacity === "0") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const clipped = (el) => {
    // inside a sideways-scrolling box (a wide table): judged against that box, not the page
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX === "auto" || s.overflowX === "scroll" || s.overflowX === "hidden") return p;
    }
    return null;
  };
  for (const el of document.querySelectorAll(SELECTOR)) {
    if (!visible(el) || el.closest(".sr-only")) continue;
    const r = el.getBoundingClientRect();
    seen.push({el, r, box: clipped(el)});
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? "[name=" + el.name + "]" : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).slice(0, 2).join(".") : "") + " '" + (el.innerText || el.value || "").trim().slice(0, 30) + "'";
  const problems = [];
  const width = document.documentElement.clientWidth;
  for (const a of seen) {
    if (!a.box && (a.r.right > width + 1 || a.r.left < -1)) problems.push("outside the page: " + name(a.el) + " right=" + Math.round(a.r.right) + " width=" + width);
  }
  const T = 2; // px: borders may touch
  for (let i = 0; i < seen.length; i++) {
    for (let j = i + 1; j < seen.length; j++) {
      const a = seen[i], b = seen[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const x = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const y = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (x > T && y > T) problems.push("overlap: " + name(a.el) + " and " + name(b.el) + " by " + Math.round(x) + "x" + Math.round(y));
    }
  }
  return problems;
}
