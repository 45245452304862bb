// Progressive enhancement only: every page works without this file.
// The instrument finder: typing narrows the 129 checkboxes to those whose name (or family) matches.
(() => {
  'use strict';
  const finder = document.getElementById('instrument-finder');
  if (!finder) {
    return;
  }
  finder.closest('.finder').hidden = false;
  const families = Array.from(document.querySelectorAll('.families fieldset'));
  finder.addEventListener('input', () => {
    const wanted = finder.value.trim().toLowerCase();
    for (const family of families) {
      const familyName = family.querySelector('legend').textContent.toLowerCase();
      let shown = 0;
      for (const label of family.querySelectorAll('label')) {
        const match = wanted === '' || familyName.includes(wanted) || label.textContent.toLowerCase().includes(wanted);
        label.hidden = !match;
        shown += match ? 1 : 0;
      }
      family.hidden = shown === 0;
    }
  });
  // Enter in the finder does not submit the form: typing a name is not choosing an instrument.
  finder.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
    }
  });
})();
