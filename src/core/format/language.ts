// Which language a document runs as, from the editor's language id or the file name.

export type RunLanguage = 'cmd' | 'powershell' | 'powerhell' | 'exchange';
export const RUN_LANGUAGES: readonly RunLanguage[] = ['powershell', 'cmd', 'powerhell', 'exchange'];

const BY_LANGUAGE_ID: Record<string, RunLanguage> = {
  powershell: 'powershell',
  bat: 'cmd',
  cmd: 'cmd',
};

const BY_EXTENSION: Record<string, RunLanguage> = {
  '.ps1': 'powershell',
  '.psm1': 'powershell',
  '.psd1': 'powershell',
  '.cmd': 'cmd',
  '.bat': 'cmd',
};

/** The language for a document, or undefined when neither its id nor its name tells. */
export function detectLanguage(languageId: string | undefined, fileName: string | undefined): RunLanguage | undefined {
  const ext = fileName ? /\.[^./\\]+$/.exec(fileName)?.[0]?.toLowerCase() : undefined;
  if (ext && BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  if (languageId && BY_LANGUAGE_ID[languageId.toLowerCase()]) return BY_LANGUAGE_ID[languageId.toLowerCase()];
  return undefined;
}

/**
 * The script text of a file or editor as the user means it: without a byte-order
 * mark and without the final line break editors add. That line break would be a
 * blank line in the powerhell loop's input, which ends a script early there.
 */
export function scriptTextOf(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
}
