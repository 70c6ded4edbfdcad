/**
 * The routing tree, as Alertmanager walks it: depth first, the first matching child wins unless
 * it says `continue`, and a node none of whose children match takes the alert itself. Children
 * inherit the receiver, grouping and timings of their parent.
 */
import type { Tags } from '../../core/model.ts';
import { formatLabelSet, formatMatchers, matchesAll } from './matchers.ts';
import type { Matcher } from './types.ts';

export type RouteInput = {
  receiver?: string | undefined;
  groupBy?: string[] | undefined;
  groupWait?: number | undefined;
  groupInterval?: number | undefined;
  repeatInterval?: number | undefined;
  matchers: Matcher[];
  continue: boolean;
  routes: RouteInput[];
};

export type Route = {
  /** Unique position in the tree: `0`, `0.1`, `0.1.0`. */
  id: string;
  /** Alertmanager's route key: `{}` for the root, `{}/{severity="page"}` below it. */
  key: string;
  receiver: string;
  /** Label names to group by; 'all' for `...` (every label: one group per alert). */
  groupBy: string[] | 'all';
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  matchers: Matcher[];
  continue: boolean;
  routes: Route[];
};

export const ROUTE_DEFAULTS = {
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 4 * 3_600_000,
} as const;

/** Resolves inheritance: every node gets its parent's settings where it sets none. */
export function buildRouteTree(input: RouteInput, parent?: Route, index = 0): Route {
  const route: Route = {
    id: parent ? `${parent.id}.${index}` : '0',
    key: parent ? `${parent.key}/${formatMatchers(input.matchers)}` : '{}',
    receiver: input.receiver ?? parent?.receiver ?? '',
    groupBy: input.groupBy
      ? input.groupBy.includes('...')
        ? 'all'
        : [...new Set(input.groupBy)]
      : (parent?.groupBy ?? []),
    groupWait: input.groupWait ?? parent?.groupWait ?? ROUTE_DEFAULTS.groupWait,
    groupInterval: input.groupInterval ?? parent?.groupInterval ?? ROUTE_DEFAULTS.groupInterval,
    repeatInterval: input.repeatInterval ?? parent?.repeatInterval ?? ROUTE_DEFAULTS.repeatInterval,
    matchers: input.matchers,
    continue: input.continue,
    routes: [],
  };
  route.routes = input.routes.map((child, i) => buildRouteTree(child, route, i));
  return route;
}

/** The routes an alert with these labels goes to (at least the root, for any labels). */
export function matchRoutes(root: Route, labels: Tags): Route[] {
  return matchFrom(root, labels);
}

function matchFrom(route: Route, labels: Tags): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const found: Route[] = [];
  for (const child of route.routes) {
    const m = matchFrom(child, labels);
    found.push(...m);
    if (m.length > 0 && !child.continue) break;
  }
  return found.length > 0 ? found : [route];
}

/** The labels an alert is grouped by on this route (only those it has). */
export function groupLabelsOf(route: Route, labels: Tags): Tags {
  if (route.groupBy === 'all') return { ...labels };
  const out: Tags = {};
  for (const name of route.groupBy) if (labels[name] !== undefined) out[name] = labels[name];
  return out;
}

/** Alertmanager's group key: `{route key}:{group labels}`. */
export function groupKeyOf(route: Route, groupLabels: Tags): string {
  return `${route.key}:${formatLabelSet(groupLabels)}`;
}

/** Every route of the tree, depth first. */
export function allRoutes(root: Route): Route[] {
  return [root, ...root.routes.flatMap(allRoutes)];
}
