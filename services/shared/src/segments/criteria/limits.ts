/** Bounds on criteria, so one segment cannot make a query (or a parse) arbitrarily large. */
export const LIMITS = {
  /** Levels of groups, the top level counting as 1. */
  depth: 20,
  /** Leaf conditions in all groups together. */
  conditions: 500,
  /** Groups in nested_conditions, at all levels together. */
  groups: 500,
  /** Elements of an in / not_in list. */
  listLength: 1000,
  /** Characters of a string value. */
  stringLength: 1000,
  /** Characters of a custom attribute key. */
  keyLength: 200,
} as const;
