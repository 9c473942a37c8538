import type { PageLoad } from './$types';

// Nothing to load up front: the page asks for the use case itself. The id is all it needs.
export const load: PageLoad = ({ params }) => ({ id: params.id });
