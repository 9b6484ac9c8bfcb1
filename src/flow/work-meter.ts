/**
 * The engine's own work in one turn, counted in work units rather than timed: workerd's clocks do
 * not advance during synchronous work, so a turn that spins in templates or conditions cannot see
 * its own wall time. One unit is about one template evaluation step (roughly half a microsecond
 * of V8 work); everything else the engine does is charged in the same currency, so one budget
 * caps any mix of them. Time spent awaiting components, MCP or HTTP is not engine work and has its
 * own timeouts.
 */
import { CodedError } from '../core/coded-error.js';

/**
 * Work units one turn may spend when the host does not say otherwise: 0.1 to 0.2 s of engine work
 * for the most expensive constructs measured (docs/security-limits.md), while an ordinary
 * conversational turn spends a few hundred.
 */
export const DEFAULT_TURN_WORK_BUDGET = 200_000;

/** What each kind of engine work costs. */
export const WORK_COSTS = Object.freeze({
  /** Running one node: its bookkeeping (views, routing context, trace), not what it renders. */
  nodeStep: 20,
  /** Text the engine produces, scans or prints (rendered output, condition text, template source) costs one unit per this many characters. */
  charsPerUnit: 16,
});

/** Units for producing or scanning `length` characters of text. */
export function textUnits(length: number): number {
  return Math.ceil(length / WORK_COSTS.charsPerUnit);
}

export class WorkBudgetExceeded extends CodedError<'turn_budget_exceeded'> {
  readonly limit: number;
  readonly spent: number;

  constructor(limit: number, spent: number, doing: string) {
    super(
      'turn_budget_exceeded',
      `the turn needed more than ${limit} work units of engine work (reached ${spent} while ${doing}); templates, conditions and node steps over large inputs or in loops add up (TURN_ENGINE_BUDGET)`,
    );
    this.limit = limit;
    this.spent = spent;
  }
}

/** The budget of one turn, shared by a flow and every flow it calls or jumps to. */
export class WorkMeter {
  spent = 0;

  constructor(readonly limit: number) {}

  /** Units left before the next charge fails. */
  get remaining(): number {
    return Math.max(0, this.limit - this.spent);
  }

  /** Adds `units`; past the limit the turn ends with `turn_budget_exceeded`. */
  charge(units: number, doing: string): void {
    this.spent += units;
    if (this.spent > this.limit) throw new WorkBudgetExceeded(this.limit, this.spent, doing);
  }
}

/** A positive integer budget from configuration text; the default when it is unset or not one. */
export function parseWorkBudget(raw: string | undefined): number {
  const n = raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_TURN_WORK_BUDGET;
}
