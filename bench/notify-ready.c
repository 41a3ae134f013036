/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The smallest Type=notify service: tells systemd it is ready and waits to be stopped. The
 * registry benchmark starts it the way it starts microvmd, as the floor of a start-up. */

#include <stdbool.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

int main(void) {
        (void) sd_notify(/* unset_environment= */ false, "READY=1");
        for (;;)
                pause();
}
