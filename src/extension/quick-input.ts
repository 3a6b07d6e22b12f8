// Small helpers for multi-step quick input: each step shows one InputBox or
// QuickPick with "Title (n/m)" and a Back button, and resolves to a value,
// BACK or undefined (cancelled).
import * as vscode from 'vscode';

export const BACK = Symbol('back');
export type StepResult<T> = T | typeof BACK | undefined;

export interface InputStep {
  title: string;
  step?: number;
  totalSteps?: number;
  prompt: string;
  value?: string;
  placeholder?: string;
  password?: boolean;
  /** Message while the value is not acceptable; checked as the user types. */
  validate?: (value: string) => string | undefined;
  canGoBack?: boolean;
  ignoreFocusOut?: boolean;
}

export function askInput(opts: InputStep): Promise<StepResult<string>> {
  const box = vscode.window.createInputBox();
  box.title = opts.title;
  box.step = opts.step;
  box.totalSteps = opts.totalSteps;
  box.prompt = opts.prompt;
  box.value = opts.value ?? '';
  box.placeholder = opts.placeholder;
  box.password = opts.password ?? false;
  box.ignoreFocusOut = opts.ignoreFocusOut ?? true;
  box.buttons = opts.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  const check = () => {
    box.validationMessage = opts.validate?.(box.value);
  };
  // An empty box is not an error yet: the prompt stays visible until the user types.
  if (box.value) check();
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: StepResult<string>) => {
      if (done) return;
      done = true;
      resolve(result);
      box.dispose();
    };
    box.onDidChangeValue(check);
    box.onDidAccept(() => {
      const problem = opts.validate?.(box.value);
      box.validationMessage = problem;
      if (!problem) finish(box.value);
    });
    box.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish(BACK);
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

export interface PickItem<T> extends vscode.QuickPickItem {
  value: T;
  /** Picking this keeps the picker open and shows this text instead. */
  refuse?: string;
}

export interface PickStep<T> {
  title: string;
  step?: number;
  totalSteps?: number;
  placeholder: string;
  items: (PickItem<T> | vscode.QuickPickItem & { kind: vscode.QuickPickItemKind.Separator })[];
  active?: T;
  canGoBack?: boolean;
  ignoreFocusOut?: boolean;
}

export function askPick<T>(opts: PickStep<T>): Promise<StepResult<T>> {
  const pick = vscode.window.createQuickPick<PickItem<T>>();
  pick.title = opts.title;
  pick.step = opts.step;
  pick.totalSteps = opts.totalSteps;
  pick.placeholder = opts.placeholder;
  pick.ignoreFocusOut = opts.ignoreFocusOut ?? true;
  pick.items = opts.items as PickItem<T>[];
  const active = (opts.items as PickItem<T>[]).find((i) => 'value' in i && i.value === opts.active);
  if (active) pick.activeItems = [active];
  pick.buttons = opts.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: StepResult<T>) => {
      if (done) return;
      done = true;
      resolve(result);
      pick.dispose();
    };
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems[0] ?? pick.activeItems[0];
      if (!chosen) return;
      if (chosen.refuse) {
        pick.placeholder = chosen.refuse;
        return;
      }
      finish(chosen.value);
    });
    pick.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish(BACK);
    });
    pick.onDidHide(() => finish(undefined));
    pick.show();
  });
}

/**
 * Runs steps in order; a step returning BACK goes to the previous one,
 * undefined cancels everything. Returns false when cancelled.
 */
export async function runSteps(steps: readonly ((index: number, total: number) => Promise<'next' | typeof BACK | undefined | 'skip'>)[]): Promise<boolean> {
  let i = 0;
  const history: number[] = [];
  while (i < steps.length) {
    const result = await steps[i](i + 1, steps.length);
    if (result === undefined) return false;
    if (result === BACK) {
      const previous = history.pop();
      if (previous === undefined) return false;
      i = previous;
      continue;
    }
    if (result === 'next') history.push(i);
    i++;
  }
  return true;
}
