/**
 * Generated sections of a Markdown file: each lies between the lines `<!-- begin NAME -->` and
 * `<!-- end NAME -->`, so several generators (a test, a benchmark) share one file.
 */

const markers = (name: string) => [`<!-- begin ${name} -->`, `<!-- end ${name} -->`] as const;

/** The text of section `name`, or undefined when the file has none. */
export function section(doc: string, name: string): string | undefined {
  const [begin, end] = markers(name);
  const from = doc.indexOf(`${begin}\n`);
  const to = doc.indexOf(end, from);
  return from < 0 || to < 0 ? undefined : doc.slice(from + begin.length + 1, to);
}

/** `doc` with section `name` holding `content` (a new section is appended). */
export function replaceSection(doc: string, name: string, content: string): string {
  const [begin, end] = markers(name);
  const old = section(doc, name);
  const block = `${begin}\n${content}${end}`;
  if (old === undefined) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.replace(`${begin}\n${old}${end}`, () => block);
}
