// Loading, empty and error states, the same in every view.
import { ApiError } from '../api';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const detail =
    error instanceof ApiError
      ? error.problem
        ? `${error.problem.detail} (${error.problem.code})`
        : `the service answered ${error.status}`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <div className="state state-error" role="alert">
      Could not load {what}: {detail}
    </div>
  );
}
