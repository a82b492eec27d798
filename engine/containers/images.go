package containers

import "context"

// ImageInUse returns the IDs of the containers created from imageID
// (for the images service: `docker rmi` refuses without force).
func (s *Service) ImageInUse(ctx context.Context, imageID string) ([]string, error) {
	return s.imageUsers(imageID, false), nil
}

// RunningImageUsers returns the IDs of the running containers created from
// imageID (`docker rmi -f` still refuses for those).
func (s *Service) RunningImageUsers(ctx context.Context, imageID string) ([]string, error) {
	return s.imageUsers(imageID, true), nil
}

func (s *Service) imageUsers(imageID string, runningOnly bool) []string {
	var ids []string
	for _, c := range s.all() {
		c.mu.Lock()
		if c.rec.ImageID == imageID && !c.removed && (!runningOnly || c.rec.State.Running) {
			ids = append(ids, c.id)
		}
		c.mu.Unlock()
	}
	return ids
}
