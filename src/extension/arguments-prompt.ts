// The arguments prompt of "Run with Arguments": a quick pick that lists the
// arguments (the file's last set, remembered) and takes `name=value` typed in
// its box. Enter on "Run" runs; picking an argument puts it back in the box
// for editing; item buttons mark it null or remove it.
import * as vscode from 'vscode';
import { describeAssignment, describeValue, formatAssignment, parseAssignment, summarizeArguments, upsertArgument, type NamedArgument } from '../core/format';

export const ARGUMENTS_TITLE = 'Arguments';
export const ARGUMENTS_PLACEHOLDER = 'Type name=value and press Enter to add (name alone = null, name[]=item for a list); pick Run when done';
export const RUN_ITEM_LABEL = '$(play) Run';
export const CLEAR_ITEM_LABEL = '$(clear-all) Remove all arguments';

type Item = vscode.QuickPickItem & { action: 'run' | 'add' | 'edit' | 'clear' | 'error'; argument?: NamedArgument };

const NULL_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('circle-slash'), tooltip: 'Mark as null (pass the name without a value)' };
const REMOVE_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Remove this argument' };

/** Resolves with the final list, or undefined when the prompt was dismissed. */
export function promptArguments(initial: readonly NamedArgument[], context: string): Promise<NamedArgument[] | undefined> {
  let args = [...initial];
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = `${ARGUMENTS_TITLE} for ${context}`;
  pick.placeholder = ARGUMENTS_PLACEHOLDER;
  pick.ignoreFocusOut = true;
  pick.matchOnDescription = false;

  const render = () => {
    const typed = pick.value;
    const items: Item[] = [];
    if (typed.trim()) {
      const parsed = parseAssignment(typed);
      if (parsed.argument) {
        items.push({ label: `$(add) ${describeAssignment(args, parsed.argument)}`, action: 'add', argument: parsed.argument, alwaysShow: true });
      } else {
        items.push({ label: `$(error) ${parsed.error}`, action: 'error', alwaysShow: true });
      }
    }
    items.push({ label: RUN_ITEM_LABEL, description: summarizeArguments(args, 80), action: 'run', alwaysShow: true });
    for (const a of args) {
      items.push({ label: a.name, description: `= ${describeValue(a.value)}`, action: 'edit', argument: a, buttons: a.value === null ? [REMOVE_BUTTON] : [NULL_BUTTON, REMOVE_BUTTON], alwaysShow: true });
    }
    if (args.length) items.push({ label: CLEAR_ITEM_LABEL, action: 'clear', alwaysShow: true });
    pick.items = items;
    pick.activeItems = [items[0]];
  };

  return new Promise((resolve) => {
    let done = false;
    const finish = (value: NamedArgument[] | undefined) => {
      if (done) return;
      done = true;
      resolve(value);
      pick.dispose();
    };
    pick.onDidChangeValue(render);
    pick.onDidAccept(() => {
      const item = pick.activeItems[0];
      if (!item) return;
      switch (item.action) {
        case 'run':
          finish(args);
          return;
        case 'add':
          args = upsertArgument(args, item.argument!);
          pick.value = '';
          break;
        case 'edit':
          // Back into the box: Enter there replaces it (same name).
          pick.value = formatAssignment(item.argument!);
          break;
        case 'clear':
          args = [];
          break;
        case 'error':
          return;
      }
      render();
    });
    pick.onDidTriggerItemButton((e) => {
      const target = e.item.argument;
      if (!target) return;
      if (e.button === REMOVE_BUTTON) args = args.filter((a) => a !== target);
      else if (e.button === NULL_BUTTON) args = args.map((a) => (a === target ? { name: a.name, value: null } : a));
      render();
    });
    pick.onDidHide(() => finish(undefined));
    render();
    pick.show();
  });
}
