import { Link } from '../router';

export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p role="alert">This page of the console does not exist.</p>
      <Link to="/">Back to the overview</Link>
    </section>
  );
}
