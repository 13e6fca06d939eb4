// Package enginetest runs devcluster's exports on a real Docker engine: the
// compose file under docker-compose with each balancer and with the Django
// example, the sticky cookie through the exported HAProxy, and the swarm
// stack under docker stack deploy with a rolling update under load and the
// rollback of an unhealthy image. Nothing here is pulled from a registry:
// every image is built from scripts/base-image.sh's Debian base.
//
// The tests talk to the engine's published ports, so they run in the host's
// network namespace, on ports 18700-18799, which no other test uses. Every
// project, stack, network and image is named after the run and removed at the
// end, whether the test passed or not.
package enginetest
