/** A progress line on stderr: redrawn in place on a terminal, every few seconds otherwise. */
/** `update` takes a function: the text (toLocaleString is not cheap) is only built when shown. */
export function progressPrinter(label: string): { update(text: () => string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      shown = true;
      if (tty) process.stderr.write(`\r\x1b[2K${label} ${text()}`);
      else process.stderr.write(`${label} ${text()}\n`);
    },
    done() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}
