/** Saving text the page made as a file: the browser's download, from memory, nothing sent anywhere. */

/** Offers `text` as a download named `filename`. */
export function downloadText(filename: string, text: string, type = 'application/yaml'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  link.style.display = 'none';
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // Browsers may read the URL after click() returns: it is given back once the download surely has it.
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  }
}
