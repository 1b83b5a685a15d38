/* mtcagent's main(): the rest of the agent is libmtcagent.a, which the
 * agent's unit test links too (mtc/agent/mtc_agent.h). */
#include "mtc_agent.h"

int main(int argc, char **argv)
{
	return mtcagent_main(argc, argv);
}
