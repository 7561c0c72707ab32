/**
 * What the schema tells about itself: introspection (`__schema`, `__type`) and the "Did you mean …"
 * suggestions in validation and variable errors. `server.introspection`:
 * - `off` (default, `hub serve`): nobody; an introspection query is GRAPHQL_VALIDATION_FAILED;
 * - `admin`: admin tokens only;
 * - `all`: every authenticated caller (the demo, `npm start`).
 * `__typename` is always allowed. Integrators get the schema as SDL from the platform operator
 * (or an admin token), not from the production endpoint.
 */
import { GraphQLError, validate, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { principalOf } from './useAuthentication.ts';

export type IntrospectionMode = 'off' | 'admin' | 'all';

/** Named so that yoga's validation cache keys the verdicts of callers with and without it apart. */
function hubNoIntrospectionRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        context.reportError(new GraphQLError(
          `Introspection is switched off on this hub ("${node.name.value}"). Ask the platform operator for the schema (SDL).`,
          { nodes: node, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
        ));
        return false;
      }
      return undefined;
    },
  };
}

export function useSchemaExposure(mode: IntrospectionMode): Plugin {
  const exposed = (request: Request | undefined) => mode === 'all' || (mode === 'admin' && request !== undefined && principalOf(request)?.kind === 'admin');
  return {
    onValidate({ context, addValidationRule, setValidationFn }) {
      if (exposed((context as { request?: Request }).request)) return;
      addValidationRule(hubNoIntrospectionRule);
      setValidationFn((schema, document, rules) => validate(schema, document, rules, { hideSuggestions: true }));
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      if (exposed((args.contextValue as { request?: Request }).request)) return;
      // graphql 17's execute takes hideSuggestions (variable and enum coercion errors); envelop's type predates it.
      setExecuteFn((execArgs) => executeFn({ ...execArgs, hideSuggestions: true } as typeof execArgs));
    },
  };
}
